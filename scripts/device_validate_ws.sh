#!/usr/bin/env bash
# Validation of the 2026-12-06 session's work on the GPU machine (build/ carried with libcmocka
# and liblua beside the binaries): the GPU tests with the default selection and with the
# warp-specialized tiles forced (INT8 cases), compute-sanitizer on the forced tile, the 8-thread
# stress test; with "coldstart", a drop-in call's cold start with compiles one after another vs
# concurrent (CUDA_CACHE_DISABLE=1, empty cache).

# Every step has its own time limit; logs and summary.txt go to $OUT.
# usage: scripts/device_validate_ws.sh tests | coldstart
source "$(dirname "$0")/device_env.sh"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv | tee -a "$sum"
export INTFA_CACHE_DIR=/tmp/intfa-cache-tests INTFA_TUNING_DB=/tmp/intfa-tests.db
if [ "${1:-tests}" = tests ]; then
INTFA_TEST_SEED=12345 run default_tests 120 build/test_gpu_attention
INTFA_TEST_SEED=4242 INTFA_TEST_FORMAT=int8 INTFA_ATTN_TILE=m128n128w12s2 run ws_w12_tests 90 build/test_gpu_attention
INTFA_TEST_SEED=4343 INTFA_TEST_FORMAT=int8 INTFA_ATTN_TILE=m64n64w8s4 run ws_w8_tests 60 build/test_gpu_attention
for tool in memcheck racecheck synccheck; do
  INTFA_TEST_QUICK=1 INTFA_TEST_SEED=7 INTFA_TEST_FORMAT=int8 INTFA_ATTN_TILE=m128n128w12s2 \
    run "sanitizer_ws_$tool" 80 compute-sanitizer --tool $tool --error-exitcode 9 build/test_gpu_attention
done
INTFA_TEST_SEED=12345 run stress_tests 60 build/test_gpu_stress
fi
unset INTFA_CACHE_DIR INTFA_TUNING_DB
[ "${1:-tests}" = coldstart ] || { cat "$sum"; exit 0; }
for jobs in 1 8; do
  INTFA_COMPILE_JOBS=$jobs CUDA_CACHE_DISABLE=1 INTFA_CACHE_DIR=$(mktemp -d) INTFA_VERBOSE=1 \
    timeout 60 build/intfa-demo --reps 5 > "$OUT/coldstart_jobs$jobs.log" 2>&1
  note "cold start INTFA_COMPILE_JOBS=$jobs rc=$? $(grep -E 'first call|compiled' "$OUT/coldstart_jobs$jobs.log" | tr '\n' ' ')"
done
cat "$sum"
