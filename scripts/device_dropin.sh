#!/usr/bin/env bash
# Issue 14 on the GPU machine (build/ carried with libcmocka and liblua beside the binaries):
#   tests  the GPU tests (every drop-in case runs the fused-Q attention and the K/V pass),
#          compute-sanitizer memcheck and racecheck on the quick matrix, the stress test
#   perf   kernel-only vs drop-in in one process (intfa-perf --dropin 1): the drop-in's ratio to
#          its kernel, the K/V pass's bandwidth against a device copy of the same bytes
#   varlen the GPU tests (batched and varlen), memcheck on the varlen test, then perf with the
#          equal-length varlen call beside the batched drop-in (--varlen 1)
#   coldstart  intfa-demo's first drop-in call with every cache empty (CUDA_CACHE_DISABLE=1, a
#          fresh INTFA_CACHE_DIR), compiles one after another (jobs 1) and concurrent (jobs 8)
# Logs and summary.txt go to $OUT.
source "$(dirname "$0")/device_env.sh"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv | tee -a "$sum"
export INTFA_CACHE_DIR=/tmp/intfa-cache-tests INTFA_TUNING_DB=/tmp/intfa-tests.db
case "${1:-tests}" in
tests)
  INTFA_TEST_SEED=2026 run default_tests 200 build/test_gpu_attention
  for tool in memcheck racecheck; do
    INTFA_TEST_QUICK=1 INTFA_TEST_SEED=8 run "sanitizer_$tool" 100 compute-sanitizer --tool $tool --error-exitcode 9 build/test_gpu_attention
  done
  INTFA_TEST_SEED=2027 run stress_tests 60 build/test_gpu_stress
  ;;
perf)
  for hd in 128 64; do for c in 0 1; do
    timeout 100 build/intfa-perf --hd $hd --causal $c --n 1024 --n 4096 --n 16384 --dropin 1 --reps 20 2>&1 | grep -v compil | tee -a "$OUT/dropin.txt"
  done; done
  timeout 60 build/intfa-perf --hd 128 --causal 0 --n 1024 --n 16384 --dropin 1 --smooth 1 --reps 20 2>&1 | grep -v compil | tee -a "$OUT/dropin.txt"
  ;;
varlen)
  INTFA_TEST_SEED=2028 run default_tests 200 build/test_gpu_attention
  run varlen_tests 100 build/test_gpu_varlen
  run sanitizer_varlen_memcheck 100 compute-sanitizer --tool memcheck --error-exitcode 9 build/test_gpu_varlen
  grep -E "^  seqs" "$OUT/varlen_tests.log" | tee -a "$sum"
  for hd in 128 64; do for c in 0 1; do
    timeout 100 build/intfa-perf --hd $hd --causal $c --n 1024 --n 4096 --n 16384 --dropin 1 --varlen 1 --reps 20 2>&1 | grep -v compil | tee -a "$OUT/dropin.txt"
  done; done
  ;;
coldstart)
  unset INTFA_CACHE_DIR INTFA_TUNING_DB
  for jobs in 1 8; do
    INTFA_COMPILE_JOBS=$jobs CUDA_CACHE_DISABLE=1 INTFA_CACHE_DIR=$(mktemp -d) INTFA_VERBOSE=1 \
      timeout 60 build/intfa-demo --reps 5 > "$OUT/coldstart_jobs$jobs.log" 2>&1
    note "cold start INTFA_COMPILE_JOBS=$jobs rc=$? $(grep -E 'first call|compiled' "$OUT/coldstart_jobs$jobs.log" | tr '\n' ' ')"
  done
  ;;
esac
cat "$sum"
