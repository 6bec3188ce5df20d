#!/usr/bin/env bash
# Both attention kernels on the device machine (build/ carried): the GPU test matrix under the
# default selection and under forced tiles (INTFA_ATTN_TILE; on sm_90a one-row-tile tiles run
# the wgmma kernel, two-row-tile tiles the mma.sync kernel), then a kernel-only timing sweep.
# usage: scripts/device_kernels.sh "<forced tiles>" "<perf tiles>" "<N list>" [hd list] [causal list]
source "$(dirname "$0")/device_env.sh"
forced=${1:-"m64n64w4s2 m128n128w8s2 m64n32w4s1"}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv | tee "$OUT/gpu.txt"
export INTFA_CACHE_DIR=/tmp/intfa-cache
(cd build && INTFA_TEST_SEED=${INTFA_TEST_SEED:-12345} ./test_gpu_attention > "$OUT/test_default.log" 2>&1)
note "test_gpu_attention default: rc=$? $(grep -E 'PASSED|FAILED' "$OUT/test_default.log" | tr '\n' ' ')"
for t in $forced; do
  (cd build && INTFA_ATTN_TILE=$t INTFA_TEST_QUICK=1 INTFA_TEST_SEED=777 ./test_gpu_attention > "$OUT/test_$t.log" 2>&1)
  note "test_gpu_attention INTFA_ATTN_TILE=$t quick: rc=$? $(grep -E 'PASSED|FAILED' "$OUT/test_$t.log" | tr '\n' ' ')"
done
if [ -n "${2:-}" ]; then bash scripts/device_perf.sh "$2" "${3:-1024 4096 16384}" "${4:-128 64}" "${5:-0 1}" > /dev/null; fi
grep -hE "FAILED|fail" "$OUT"/test_*.log | head -20 >> "$sum"
