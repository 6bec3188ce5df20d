#!/usr/bin/env bash
# The stress tests under ThreadSanitizer: one context, 8 threads (docs/FUZZING.md). Builds
# build-tsan (-DINTFA_TSAN=ON) and runs test_stress_host (the made-up driver: host code only,
# runs anywhere) and test_gpu_stress (a real GPU, results checked; skips without one).
# A data race, a lock-order problem or a failed check fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nvcc >/dev/null || export PATH=/usr/local/cuda/bin:$PATH
dir=${INTFA_TSAN_BUILD:-build-tsan}
cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINTFA_TSAN=ON >/dev/null
cmake --build "$dir" -j"$(nproc)" --target test_stress_host test_gpu_stress
export TSAN_OPTIONS=${TSAN_OPTIONS:-halt_on_error=1:second_deadlock_stack=1:exitcode=66:suppressions=$PWD/tests/tsan.supp}
(cd "$dir" && ctest --output-on-failure -R '^test_(stress_host|gpu_stress)$')
