#!/usr/bin/env bash
# The whole test suite: install what is missing, build twice (plain, and ASan+UBSan), run ctest
# in both, then the Python package's tests (scripts/test_python.sh: wheel build, pytest), a
# check of pf16's SASS (scripts/sass_check.sh), the
# stress tests under ThreadSanitizer (scripts/tsan.sh) and each libFuzzer harness for
# $INTFA_FUZZ_SECONDS (default 30) s (scripts/fuzz.sh). GPU tests say "SKIP: ..." and count as
# skipped where no GPU is present.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/deps.sh
command -v nvcc >/dev/null || export PATH=/usr/local/cuda/bin:$PATH
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
[ -f tests/lsan.supp ] && export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
for cfg in "build:-DINTFA_SANITIZE=OFF" "build-asan:-DINTFA_SANITIZE=ON"; do
  dir=${cfg%%:*}; opt=${cfg#*:}
  echo "== $dir ($opt)"
  cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo "$opt" >/dev/null
  cmake --build "$dir" -j"$(nproc)"
  (cd "$dir" && ctest --output-on-failure -j"$(nproc)")
done
echo "== python package"
bash scripts/test_python.sh
echo "== pf16's machine code: P.V behind the softmax (needs cuobjdump: the Python tests' Triton has one)"
bash scripts/sass_check.sh
echo "== build-tsan (the stress tests under ThreadSanitizer)"
bash scripts/tsan.sh
echo "== build-fuzz (libFuzzer harnesses, ${INTFA_FUZZ_SECONDS:-30} s each)"
bash scripts/fuzz.sh "${INTFA_FUZZ_SECONDS:-30}"
echo "intfa: all tests passed"
