#!/usr/bin/env bash
# Runs the GPU test suite on the device machine (build/ carried from the build machine, with
# libcmocka beside the binaries). Logs go to $OUT. Usage: scripts/device_gpu_tests.sh [sanitize]
set -uo pipefail
OUT=${OUT:-/tmp/intfa-out}; mkdir -p "$OUT"
cd build
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv | tee "$OUT/gpu.txt"
INTFA_TEST_SEED=${INTFA_TEST_SEED:-12345} ./test_gpu_attention 2>&1 | tee "$OUT/test_gpu_attention.log"
echo "test_gpu_attention rc=${PIPESTATUS[0]}" | tee -a "$OUT/summary.txt"
./intfa-demo 2>&1 | tee "$OUT/demo.log"
./intfa-demo --causal --seq 4096 --batch 2 --heads 32 2>&1 | tee -a "$OUT/demo.log"
if [ "${1:-}" = sanitize ]; then
  for tool in memcheck racecheck; do
    INTFA_TEST_QUICK=1 INTFA_TEST_SEED=7 compute-sanitizer --tool $tool --error-exitcode 9 \
      ./test_gpu_attention > "$OUT/sanitizer_$tool.log" 2>&1
    echo "compute-sanitizer $tool rc=$?" | tee -a "$OUT/summary.txt"
    tail -5 "$OUT/sanitizer_$tool.log"
  done
fi
