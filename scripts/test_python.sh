#!/usr/bin/env bash
# The Python package's CPU tests (scripts/test.sh runs this after the C tests): installs torch
# and pytest with pip where missing (PyPI's torch; no GPU needed), builds the wheel from this
# tree (pip wheel .: CMake, the AOT table for sm_80/86/89/90a), installs it into build-py/site
# (nothing is installed system-wide) and runs python/tests from outside the source tree. The GPU
# tests skip without a GPU. Set INTFA_PY_WHEEL=FILE to test a wheel built before instead.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nvcc >/dev/null || export PATH=/usr/local/cuda/bin:$PATH
py=${PYTHON:-python3}
pip_install() { timeout 900 "$py" -m pip install -q --disable-pip-version-check "$@"; }
"$py" -c "import torch" 2>/dev/null || pip_install "torch==${INTFA_TORCH_VERSION:-2.11.0}"
"$py" -c "import pytest" 2>/dev/null || pip_install pytest
# the transformers integration's tests (a tiny random Llama on the CPU: no download)
"$py" -c "import transformers" 2>/dev/null || pip_install "transformers${INTFA_TRANSFORMERS_VERSION:+==$INTFA_TRANSFORMERS_VERSION}"
out=build-py
rm -rf "$out/site"
mkdir -p "$out/dist"
wheel=${INTFA_PY_WHEEL:-}
if [ -z "$wheel" ]; then
  rm -f "$out"/dist/intfa-*.whl
  echo "== pip wheel . (build-py/dist)"
  "$py" -m pip wheel -q --no-deps --disable-pip-version-check -w "$out/dist" .
  wheel=$(ls "$out"/dist/intfa-*.whl)
fi
echo "== $(basename "$wheel"): $(du -h "$wheel" | cut -f1)"
"$py" -m pip install -q --no-deps --no-index --disable-pip-version-check --target "$out/site" "$wheel"
unset INTFA_LIBRARY
cd python/tests
PYTHONPATH="$PWD/../../$out/site" "$py" -m pytest -q -p no:cacheprovider -o log_level=WARNING .
