#!/usr/bin/env bash
# INT4 validation on the GPU machine (build/ carried): the full GPU attention suite (INT8 and
# INT4, with and without K smoothing), the native s4 path forced on sm_90 for checking, the
# bench smoke test, INT4 vs INT8 speed, the README's main command. Logs to $OUT.
source "$(dirname "$0")/device_env.sh"
export INTFA_CACHE_DIR=/tmp/intfa-cache-int4
INTFA_TEST_SEED=12345 timeout 400 build/test_gpu_attention > "$OUT/test_gpu_attention.log" 2>&1
note "test_gpu_attention rc=$? $(grep -E '^\[  (PASSED|FAILED)' "$OUT/test_gpu_attention.log" | tr '\n' ' ')"
INTFA_INT4_NATIVE_TEST=1 INTFA_CACHE_DIR=/tmp/intfa-cache-native INTFA_TEST_QUICK=1 INTFA_TEST_SEED=77 \
  timeout 300 build/test_gpu_attention > "$OUT/test_gpu_attention_native_s4.log" 2>&1
note "test_gpu_attention with the native s4 path on sm_90 (quick) rc=$? $(grep -E '^\[  (PASSED|FAILED)' "$OUT/test_gpu_attention_native_s4.log" | tr '\n' ' ')"
timeout 200 build/test_gpu_bench_smoke > "$OUT/test_gpu_bench_smoke.log" 2>&1
note "test_gpu_bench_smoke rc=$? $(grep -E '^\[  (PASSED|FAILED)' "$OUT/test_gpu_bench_smoke.log" | tr '\n' ' ')"
for hd in 128 64; do
  timeout 200 build/intfa-bench --hd $hd --n 4096 --n 16384 --reps 20 >> "$OUT/bench_int4.log" 2>&1
  note "intfa-bench hd$hd rc=$?"
done
INTFA_TEST_QUICK=1 INTFA_TEST_SEED=7 timeout 300 compute-sanitizer --tool memcheck --error-exitcode 9 \
  build/test_gpu_attention > "$OUT/sanitizer_memcheck_int4.log" 2>&1
note "compute-sanitizer memcheck rc=$? $(grep -E 'ERROR SUMMARY|PASSED' "$OUT/sanitizer_memcheck_int4.log" | tr '\n' ' ')"
unset INTFA_CACHE_DIR
timeout 240 bash scripts/main.sh > "$OUT/main_sh.log" 2>&1
note "scripts/main.sh rc=$? $(grep -E 'PASS|FAIL|using the existing' "$OUT/main_sh.log" | tr '\n' ' ')"
grep -E "FAILED|ERROR" "$OUT/test_gpu_attention.log" | head -20
