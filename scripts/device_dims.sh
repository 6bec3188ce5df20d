#!/usr/bin/env bash
# Issue 16 on the GPU machine: every head dim from 32 to 256. Carry build/test_gpu_attention,
# build/test_gpu_quant_dims, build/test_gpu_varlen, build/intfa-perf, build/libintfa-jit.so.0.1.0,
# build/libcmocka.so.0, build/liblua5.4.so.0 and build-dev/cache (scripts/dims_cache.sh: the
# default set and the other head dims' default tiles for sm_90a and sm_90, precompiled here, so
# the device compiles only the forced tiles). Logs to $OUT.
#   tests     test_gpu_attention with the default families (sm_90a: wgmma; every head dim), with
#             INTFA_ARCH=sm_90 (the portable mma.sync kernel at every head dim; the streamed
#             K/V pass) and with INTFA_ATTN_TILE=m64n64w4s2 (the wgmma kernel's 64-key tile);
#             test_gpu_quant_dims; test_gpu_varlen
#   sanitize  compute-sanitizer memcheck and racecheck on the quick matrix (head dims included)
#   perf      intfa-perf kernel-only and drop-in, hd 32..256, N 1k and 16k, causal or not
#   peers     scripts/bench_peers.py (SDPA cuDNN / flash, FA4 and SageAttention 2 where they
#             import) with its default rows
#   pytests   python/tests/test_gpu.py's head-dim cases
#   all       tests, perf, pytests (SAN=1: sanitize too; QUICK_SM90=1: the sm_90 run on the quick matrix)
source "$(dirname "$0")/device_env.sh"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv | tee -a "$sum"
export INTFA_CACHE_DIR=$PWD/build-dev/cache INTFA_TUNING_DB=/tmp/intfa-dims.db
mode=${1:-all}
if [ "$mode" = tests ] || [ "$mode" = all ]; then
  INTFA_TEST_SEED=16 run attn_default 400 build/test_gpu_attention
  INTFA_TEST_QUICK=${QUICK_SM90:-0} INTFA_ARCH=sm_90 INTFA_TEST_SEED=17 INTFA_TEST_FORMAT=int8 \
    run attn_sm90 ${SM90_LIMIT:-400} build/test_gpu_attention
  [ -n "${TILE_N64:-}" ] && INTFA_ATTN_TILE=m64n64w4s2 INTFA_TEST_SEED=18 INTFA_TEST_FORMAT=int8 \
    run attn_n64 300 build/test_gpu_attention
  INTFA_TEST_SEED=19 run quant_dims 200 build/test_gpu_quant_dims
  INTFA_TEST_SEED=20 run varlen 200 build/test_gpu_varlen
  grep -h "skipped" "$OUT"/attn_*.log | head -20 | tee -a "$sum"
fi
if [ "$mode" = sanitize ] || { [ "$mode" = all ] && [ -n "${SAN:-}" ]; }; then
  for tool in memcheck racecheck; do
    INTFA_TEST_QUICK=1 INTFA_TEST_SEED=7 INTFA_TEST_FORMAT=int8 run "san_$tool" 280 \
      compute-sanitizer --tool $tool --report-api-errors no --error-exitcode 9 build/test_gpu_attention
  done
fi
if [ "$mode" = perf ] || [ "$mode" = all ]; then
  for hd in ${PERF_DIMS:-64 96 128 256 32 80 160 192 224}; do for c in ${PERF_CAUSAL:-0 1}; do
    timeout 90 build/intfa-perf --hd $hd --causal $c --n 1024 --n 16384 --dropin 1 --reps 15 2>&1 \
      | grep -v compil | tee -a "$OUT/perf.txt"
  done; done
fi
if [ "$mode" = pytests ] || [ "$mode" = all ]; then
  INTFA_LIBRARY="$PWD/build/libintfa-jit.so.0.1.0" PYTHONPATH="$PWD/python" timeout 150 \
    python3 -m pytest -q -p no:cacheprovider python/tests/test_gpu.py -k "head_dim" > "$OUT/pytests.log" 2>&1
  note "pytests (head dims) rc=$? $(tail -1 "$OUT/pytests.log")"
fi
if [ "$mode" = peers ]; then
  INTFA_LIBRARY="$PWD/build/libintfa-jit.so.0.1.0" PYTHONPATH="$PWD/python${PYTHONPATH:+:$PYTHONPATH}" \
    timeout 500 python3 scripts/bench_peers.py --rows "${PEER_ROWS:-default}" --out "$OUT/peers" \
    > "$OUT/peers.log" 2>&1
  note "bench_peers rc=$?"
  tail -40 "$OUT/peers.log"
fi
