#!/usr/bin/env bash
# Issue 13, 16-bit P.V (pf16) on the GPU machine (build/ carried):
#   perf   kernel-only, pf16 tiles beside the default pu8 kernel in one process per shape
#          (relL2 column: each against the first, the pu8 kernel)
#   dropin kernel-only vs drop-in (intfa-perf --dropin 1) for pu8 and pf16
#   tests_main  test_gpu_attention alone
#   tests  the GPU tests with pf16 cases (test_gpu_attention), memcheck/racecheck on the quick
#          matrix, and the varlen tests
# Logs and summary.txt go to $OUT.
source "$(dirname "$0")/device_env.sh"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv | tee -a "$sum"
export INTFA_CACHE_DIR=/tmp/intfa-cache-tests INTFA_TUNING_DB=/tmp/intfa-tests.db
perf() { # hd causal variants...
  local hd=$1 c=$2; shift 2
  local args=()
  for v in "$@"; do args+=(--variant "attn_fwd-sm90a-d$hd-int8-fp16-full-$v"); done
  timeout 150 build/intfa-perf --hd $hd --causal $c --n 1024 --n 4096 --n 16384 --reps 20 "${args[@]}" 2>&1 | grep -v compil | tee -a "$OUT/perf.txt"
}
case "${1:-perf}" in
perf)
  for c in 0 1; do
    perf 128 $c pu8-m64n128w4s2 pf16-m64n64w4s2 pf16-m64n128w4s2
    perf 64 $c pu8-m64n128w4s2 pf16-m64n64w4s2 pf16-m64n128w4s2
  done
  ;;
dropin)
  for pq in pu8 pf16; do for c in 0 1; do
    timeout 100 build/intfa-perf --hd 128 --causal $c --n 1024 --n 4096 --n 16384 --dropin 1 --reps 20 --pq $pq 2>&1 | grep -v compil | tee -a "$OUT/dropin.txt"
  done; done
  timeout 100 build/intfa-perf --hd 64 --causal 0 --n 1024 --n 16384 --dropin 1 --reps 20 --pq pf16 2>&1 | grep -v compil | tee -a "$OUT/dropin.txt"
  ;;
tests_main)
  INTFA_TEST_SEED=2030 run default_tests 200 build/test_gpu_attention
  ;;
tests)
  INTFA_TEST_SEED=2030 run default_tests 200 build/test_gpu_attention
  for tool in memcheck racecheck; do
    INTFA_TEST_QUICK=1 INTFA_TEST_SEED=8 run "sanitizer_$tool" 120 compute-sanitizer --tool $tool --error-exitcode 9 build/test_gpu_attention
  done
  run varlen_tests 100 build/test_gpu_varlen
  ;;
esac
cat "$sum"
