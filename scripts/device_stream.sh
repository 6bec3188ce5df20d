#!/usr/bin/env bash
# Issues 14 and 15 on the GPU machine: the drop-in's streamed K/V pass (sm_90) and the per-call
# host overhead. Carry build/test_gpu_varlen, build/test_gpu_attention, build/intfa-perf,
# build/libintfa-jit.so.0.1.0, build/libcmocka.so.0, build/liblua5.4.so.0 and build-dev/cache
# (`INTFA_CACHE_DIR=build-dev/cache build/intfa-gen --compile --cache --arch sm_90a`: the default
# set precompiled here, so the device compiles only what the tests add). Logs to $OUT.
#   tests  test_gpu_varlen (varlen vs per-sequence calls; streamed vs two-launch pass bit for
#          bit with 1, 2, 5 and the default blocks), the quick INT8 matrix, memcheck and
#          synccheck on test_gpu_varlen
#   perf   intfa-perf --dropin 1 (hd 128/64, causal or not, N 1k/4k/16k): the drop-in with the
#          streamed pass, with the two-launch pass and with --kvblocks 16 / 66, beside the kernel
#   py     the Python per-call overhead (python/tests/test_overhead.py, the library of build/)
#   ab     kernel-only speed of the default tiles from build-dev/templates_old (a copy of the
#          templates before a change, rendered through INTFA_TEMPLATE_DIR) and from the
#          embedded templates, one process each, N 1k and 16k
#   all    tests, ab, perf, py
#   quick  test_gpu_varlen, perf, py (KV_BLOCKS="G ..." sets perf's --kvblocks list)
#   coldstart  intfa-demo's first drop-in call with every cache empty (carry build/intfa-demo)
#   pytests  coldstart, then python/tests with the library of build/ (all but
#          test_install.py, which checks the installed wheel; PYTEST_ARGS, PYTEST_LIMIT
#          seconds): numerics, torch.compile, CUDA graphs (the streamed pass's memset and
#          dependent launch captured), varlen, the KV cache, transformers
source "$(dirname "$0")/device_env.sh"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv | tee -a "$sum"
export INTFA_CACHE_DIR=$PWD/build-dev/cache INTFA_TUNING_DB=/tmp/intfa-stream.db
mode=${1:-all}
kvblocks=${KV_BLOCKS:-"16 66"}
kvargs=""; for g in $kvblocks; do kvargs="$kvargs --kvblocks $g"; done
if [ "$mode" = tests ] || [ "$mode" = all ] || [ "$mode" = quick ]; then
  INTFA_TEST_SEED=5 run varlen_tests 150 build/test_gpu_varlen
  grep -E "^  (seqs|streamed)" "$OUT/varlen_tests.log" | tee -a "$sum"
fi
if [ "$mode" = ab ] || [ "$mode" = all ]; then
  for hd in 128 64; do for c in 0 1; do
    for ver in old new; do
      echo "--- $ver hd $hd causal $c"
      if [ $ver = old ]; then dir=$PWD/build-dev/templates_old; else dir=; fi
      [ -n "$dir" ] && overlay_quant_templates "$dir"
      INTFA_TEMPLATE_DIR=$dir timeout 60 build/intfa-perf --hd $hd --causal $c --n 1024 --n 16384 --reps 20 2>&1 | grep -v compil
    done
  done; done 2>&1 | tee -a "$OUT/ab.txt"
fi
if [ "$mode" = perf ] || [ "$mode" = all ] || [ "$mode" = quick ]; then
  for hd in 128 64; do for c in 0 1; do
    timeout 90 build/intfa-perf --hd $hd --causal $c --n 1024 --n 4096 --n 16384 --dropin 1 $kvargs \
      --reps 15 2>&1 | grep -v compil | tee -a "$OUT/dropin.txt"
  done; done
  timeout 60 build/intfa-perf --hd 128 --causal 0 --n 1024 --n 4096 --dropin 1 --smooth 1 --reps 15 2>&1 \
    | grep -v compil | tee -a "$OUT/dropin.txt"
fi
if [ "$mode" = py ] || [ "$mode" = all ] || [ "$mode" = quick ]; then
  for g in default 0; do # the streamed K/V pass (sm_90's default), then the two-launch pass
    if [ $g = default ]; then unset INTFA_KV_STREAM_BLOCKS; else export INTFA_KV_STREAM_BLOCKS=$g; fi
    INTFA_LIBRARY="$PWD/build/libintfa-jit.so.0.1.0" PYTHONPATH="$PWD/python" timeout 120 \
      python3 -m pytest -q -s -p no:cacheprovider python/tests/test_overhead.py > "$OUT/overhead_$g.log" 2>&1
    note "overhead (streamed blocks: $g) rc=$? $(grep -h '^overhead:' "$OUT/overhead_$g.log" | tr '\n' ' ')"
  done
  unset INTFA_KV_STREAM_BLOCKS
  timeout 60 build/intfa-perf --overhead 1 2>&1 | grep -v compil | tee -a "$OUT/overhead_c.txt" | tee -a "$sum"
fi
if [ "$mode" = tests ] || [ "$mode" = all ]; then
  INTFA_TEST_QUICK=1 INTFA_TEST_SEED=6 run quick_tests 200 build/test_gpu_attention
  run varlen_memcheck 120 compute-sanitizer --tool memcheck --report-api-errors no --error-exitcode 9 build/test_gpu_varlen
  run varlen_synccheck 120 compute-sanitizer --tool synccheck --error-exitcode 9 build/test_gpu_varlen
fi
if [ "$mode" = pytests ] || [ "$mode" = coldstart ]; then
  # issue 19: the first drop-in call with every cache empty (intfa's, the driver's JIT cache off)
  for jobs in 1 8; do
    INTFA_COMPILE_JOBS=$jobs CUDA_CACHE_DISABLE=1 INTFA_CACHE_DIR=$(mktemp -d) INTFA_VERBOSE=1 \
      timeout 60 build/intfa-demo --reps 5 > "$OUT/coldstart_jobs$jobs.log" 2>&1
    note "cold start INTFA_COMPILE_JOBS=$jobs rc=$? $(grep -E 'first call|compiled' "$OUT/coldstart_jobs$jobs.log" | tr '\n' ' ')"
  done
fi
if [ "$mode" = pytests ]; then
  INTFA_LIBRARY="$PWD/build/libintfa-jit.so.0.1.0" PYTHONPATH="$PWD/python" timeout ${PYTEST_LIMIT:-420} \
    python3 -m pytest -q -p no:cacheprovider --ignore=python/tests/test_install.py ${PYTEST_ARGS:-} python/tests > "$OUT/pytest.log" 2>&1
  note "pytest rc=$? $(tail -1 "$OUT/pytest.log")"
fi
cat "$sum"
