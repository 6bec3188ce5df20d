#!/usr/bin/env bash
# Issue 17 on the GPU machine (build/ carried: test_gpu_kvcache, libintfa-jit.so.0.1.0, libcmocka,
# liblua): the paged KV cache's GPU test, memcheck on it, and the decode benchmark beside
# PyTorch's FP16 SDPA. Logs and summary.txt go to $OUT.
#   tests   test_gpu_kvcache, memcheck on it (KV_MEMCHECK=0: not), the Python KV tests
#   bench   scripts/bench_decode.py [extra args]
#   all     both
#   ab      bench_decode with the default template and with a variant of it (templates/ copied
#           to /tmp, kv_cache.cu replaced by $KV_AB_FILE or edited by the sed expression in
#           $KV_AB_SED), in separate processes
#   ncu     Nsight Compute on one decode launch (B = 8, N_kv = 32k and B = 1, N_kv = 128k)
source "$(dirname "$0")/device_env.sh"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv | tee -a "$sum"
export INTFA_CACHE_DIR=/tmp/intfa-cache-kv INTFA_TUNING_DB=/tmp/intfa-kv.db
export INTFA_LIBRARY="$PWD/build/libintfa-jit.so.0.1.0" PYTHONPATH="$PWD/python"
mode=${1:-all}; shift || true
if [ "$mode" = tests ] || [ "$mode" = all ]; then
  run kv_tests 200 build/test_gpu_kvcache
  grep -E "vs reference|append calls|d[0-9]+ ps" "$OUT/kv_tests.log" | head -40 | tee -a "$sum"
  tail -5 "$OUT/kv_tests.log" | tee -a "$sum"
  [ "${KV_MEMCHECK:-1}" = 0 ] || run kv_memcheck 200 compute-sanitizer --tool memcheck --report-api-errors no --error-exitcode 9 build/test_gpu_kvcache
fi
if [ "$mode" = tests ] || [ "$mode" = all ]; then
  LD_LIBRARY_PATH="$PWD/build" timeout 200 python3 -m pytest -q -p no:cacheprovider python/tests/test_kvcache.py > "$OUT/kv_python.log" 2>&1
  note "kv_python rc=$? $(tail -1 "$OUT/kv_python.log")"
fi
if [ "$mode" = bench ] || [ "$mode" = all ]; then
  timeout 300 python3 scripts/bench_decode.py --json "$OUT/decode.json" "$@" 2>&1 | tee "$OUT/bench_decode.txt" | tee -a "$sum"
fi
if [ "$mode" = ab ]; then
  rm -rf /tmp/tpl_b && cp -r templates /tmp/tpl_b
  if [ -n "${KV_AB_FILE:-}" ]; then cp "$KV_AB_FILE" /tmp/tpl_b/kv_cache.cu; else sed -i "${KV_AB_SED:?}" /tmp/tpl_b/kv_cache.cu; fi
  diff templates/kv_cache.cu /tmp/tpl_b/kv_cache.cu | head -8 | tee -a "$sum"
  note "== A: templates/"
  timeout 200 python3 scripts/bench_decode.py "$@" 2>&1 | grep -v -i "warn\|return F" | tee -a "$sum"
  note "== B: the variant"
  INTFA_TEMPLATE_DIR=/tmp/tpl_b timeout 200 python3 scripts/bench_decode.py "$@" 2>&1 | grep -v -i "warn\|return F" | tee -a "$sum"
fi
if [ "$mode" = variants ]; then # bench_decode (intfa alone) per template edit: KV_V1, KV_V2, ... sed expressions
  note "== default"; timeout 100 python3 scripts/bench_decode.py --no-fp16 "$@" 2>&1 | grep "^ " | tee -a "$sum"
  for i in 1 2 3 4; do
    var="KV_V$i"; [ -n "${!var:-}" ] || continue
    rm -rf /tmp/tpl_$i && cp -r templates /tmp/tpl_$i && sed -i "${!var}" /tmp/tpl_$i/kv_cache.cu
    note "== $var: ${!var}"
    INTFA_TEMPLATE_DIR=/tmp/tpl_$i timeout 100 python3 scripts/bench_decode.py --no-fp16 "$@" 2>&1 | grep "^ " | tee -a "$sum"
  done
fi
if [ "$mode" = splits ]; then # INTFA_KV_SPLITS sweep (0: the built-in choice)
  for s in ${KV_SPLITS:-0 16 32 64}; do
    note "== splits $s"
    INTFA_KV_SPLITS=$([ "$s" = 0 ] || echo $s) timeout 100 python3 scripts/bench_decode.py --no-fp16 "$@" 2>&1 | grep "^ " | tee -a "$sum"
  done
fi
if [ "$mode" = prof ]; then # B = 1: where the time goes (decode, combine) and the split count
  for s in 0 8 16 24 32 48 64; do
    note "== splits $s"
    INTFA_KV_SPLITS=$([ "$s" = 0 ] || echo $s) timeout 100 python3 scripts/bench_decode.py --no-fp16 --batches 1 --lens 16384,32768 "$@" 2>&1 | grep "^ " | tee -a "$sum"
  done
  timeout 200 ncu --kernel-name "regex:intfa_kv_(decode|combine)" --launch-skip 4 --launch-count 6 --metrics gpu__time_duration.sum,sm__throughput.avg.pct_of_peak_sustained_elapsed,dram__throughput.avg.pct_of_peak_sustained_elapsed,launch__grid_size \
    python3 scripts/bench_decode.py --no-fp16 --batches 1 --lens 16384 --reps 2 --rounds 1 > "$OUT/ncu_b1_n16k.txt" 2>&1
  note "ncu rc=$?"; grep -E "intfa_kv_|duration|throughput|grid_size" "$OUT/ncu_b1_n16k.txt" | head -40 | tee -a "$sum"
fi
if [ "$mode" = ncu ] || [ "$mode" = all ]; then
  for cfg in "8 32768" "1 131072"; do
    set -- $cfg
    timeout 240 ncu --kernel-name intfa_kv_decode --launch-skip 3 --launch-count 1 \
      --section SpeedOfLight --section MemoryWorkloadAnalysis --section WarpStateStats \
      --section SchedulerStats --section Occupancy --section LaunchStats --section ComputeWorkloadAnalysis \
      python3 scripts/bench_decode.py --batches $1 --lens $2 --reps 2 --rounds 1 > "$OUT/ncu_b$1_n$2.txt" 2>&1
    note "ncu b$1 n$2 rc=$?"
  done
fi
