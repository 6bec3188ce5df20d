#!/usr/bin/env bash
# The Python package on the GPU machine (no network; its own Python and torch): installs the
# wheel that scripts/test_python.sh built here (carry build-py/dist) into a private folder
# with pip --no-index --no-deps, then runs python/tests with it: the GPU tests (correctness vs
# float64 attention, layouts, GQA, causal N_q != N_kv, bf16, LSE, torch.compile, CUDA graphs,
# no-JIT first call, host overhead) and the CPU ones. Logs go to $OUT.
# usage: scripts/device_python.sh [pytest arguments, e.g. -k overhead]
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/intfa-out}; mkdir -p "$OUT"
py=${PYTHON:-python3}
wheel=$(ls build-py/dist/intfa-*.whl 2>/dev/null | head -1)
[ -n "$wheel" ] || { echo "no build-py/dist/intfa-*.whl: run scripts/test_python.sh here and carry build-py/dist" >&2; exit 2; }
site=/tmp/intfa-site; rm -rf "$site"
{
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
  "$py" -c 'import sys, torch; print("python", sys.version.split()[0], "torch", torch.__version__, "cuda", torch.version.cuda)'
  echo "wheel $(basename "$wheel")"
} 2>&1 | tee "$OUT/env.txt"
"$py" -m pip install -q --no-index --no-deps --no-compile --target "$site" "$wheel" 2>&1 | tee "$OUT/install.log"
ldd "$site"/intfa/_lib/libintfa-jit*.so.0 | tee -a "$OUT/env.txt"
unset INTFA_LIBRARY
export INTFA_CACHE_DIR=${INTFA_CACHE_DIR:-/tmp/intfa-kernel-cache}
cd python/tests
PYTHONPATH="$site" PYTHONUNBUFFERED=1 "$py" -m pytest -v -s -p no:cacheprovider -o log_level=WARNING \
  --junitxml="$OUT/pytest.xml" "$@" . 2>&1 | tee "$OUT/pytest.log"
rc=${PIPESTATUS[0]}
grep -h "^overhead:\|^llama:\|^readme example:" "$OUT/pytest.log" | tee "$OUT/overhead.txt"
echo "device_python: pytest rc=$rc" | tee -a "$OUT/summary.txt"
exit "$rc"
