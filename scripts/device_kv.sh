#!/usr/bin/env bash
# Issue 17 on the GPU machine (build/ carried: test_gpu_kvcache, libintfa-jit.so.0.1.0, libcmocka,
# liblua): the paged KV cache's GPU test, memcheck on it, and the decode benchmark beside
# PyTorch's FP16 SDPA. Logs and summary.txt go to $OUT.
#   tests   test_gpu_kvcache (+ memcheck with --quick)
#   bench   scripts/bench_decode.py [extra args]
#   all     both
source "$(dirname "$0")/device_env.sh"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv | tee -a "$sum"
export INTFA_CACHE_DIR=/tmp/intfa-cache-kv INTFA_TUNING_DB=/tmp/intfa-kv.db
export INTFA_LIBRARY="$PWD/build/libintfa-jit.so.0.1.0" PYTHONPATH="$PWD/python"
mode=${1:-all}; shift || true
if [ "$mode" = tests ] || [ "$mode" = all ]; then
  run kv_tests 200 build/test_gpu_kvcache
  grep -E "vs reference|append calls|d[0-9]+ ps" "$OUT/kv_tests.log" | head -40 | tee -a "$sum"
  tail -5 "$OUT/kv_tests.log" | tee -a "$sum"
  run kv_memcheck 200 compute-sanitizer --tool memcheck --error-exitcode 9 build/test_gpu_kvcache
fi
if [ "$mode" = tests ] || [ "$mode" = all ]; then
  LD_LIBRARY_PATH="$PWD/build" timeout 200 python3 -m pytest -q -p no:cacheprovider python/tests/test_kvcache.py > "$OUT/kv_python.log" 2>&1
  note "kv_python rc=$? $(tail -1 "$OUT/kv_python.log")"
fi
if [ "$mode" = bench ] || [ "$mode" = all ]; then
  timeout 300 python3 scripts/bench_decode.py --json "$OUT/decode.json" "$@" 2>&1 | tee "$OUT/bench_decode.txt" | tee -a "$sum"
fi
cat "$sum" > /dev/null
