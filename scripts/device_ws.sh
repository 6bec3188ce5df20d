#!/usr/bin/env bash
# Warp-specialized kernel development on the device machine (build/ carried, libcmocka and
# liblua beside the binaries): GPU tests with the ws tile forced, then kernel-only timings of
# the ws tiles beside the one-warpgroup wgmma default (intfa-perf checks each against it).
# usage: scripts/device_ws.sh "<ws tiles>" "<N list>" [tests: 0|1]
source "$(dirname "$0")/device_env.sh"
tiles=${1:-"m128n128w12s2"}; ns=${2:-"1024 4096 16384"}; tests=${3:-1}
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv | tee "$OUT/gpu.txt"
if [ "$tests" = 1 ]; then
  first=${tiles%% *}
  INTFA_ATTN_TILE=$first INTFA_TEST_SEED=${INTFA_TEST_SEED:-12345} timeout 300 ./build/test_gpu_attention \
    > "$OUT/test_ws.log" 2>&1
  note "test_gpu_attention INTFA_ATTN_TILE=$first rc=$?"
  tail -15 "$OUT/test_ws.log"
fi
nargs=""; for n in $ns; do nargs="$nargs --n $n"; done
for hd in 128 64; do for c in 0 1; do
  mask=full; [ "$c" = 1 ] && mask=causal
  vargs="--variant attn_fwd-sm90a-d$hd-int8-fp16-$mask-pu8-m64n128w4s2"
  for t in $tiles; do vargs="$vargs --variant attn_fwd-sm90a-d$hd-int8-fp16-$mask-pu8-$t"; done
  timeout 200 ./build/intfa-perf --hd $hd --causal $c $nargs $vargs 2>&1 | tee -a "$OUT/perf.txt"
done; done
