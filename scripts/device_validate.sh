#!/usr/bin/env bash
# Final validation on the GPU machine (build/ carried with libcmocka and liblua beside the
# binaries): every GPU test, compute-sanitizer, the autotuner's timings, cold-start figures,
# the README's main command. Logs to $OUT. usage: OUT=dir scripts/device_validate.sh
source "$(dirname "$0")/device_env.sh"
nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm --format=csv | tee -a "$sum"

export INTFA_CACHE_DIR=/tmp/intfa-cache-tests INTFA_TUNING_DB=/tmp/intfa-tests.db
for t in test_gpu_attention test_gpu_tune test_gpu_aot test_gpu_baseline; do
  [ -x build/$t ] || { note "$t: not built"; continue; }
  INTFA_TEST_SEED=12345 timeout 300 build/$t > "$OUT/$t.log" 2>&1
  note "$t rc=$? $(grep -E '^\[  (PASSED|FAILED)' "$OUT/$t.log" | tr '\n' ' ')"
done
for tool in memcheck racecheck; do
  INTFA_TEST_QUICK=1 INTFA_TEST_SEED=7 timeout 240 compute-sanitizer --tool $tool --error-exitcode 9 \
    build/test_gpu_attention > "$OUT/sanitizer_$tool.log" 2>&1
  note "compute-sanitizer $tool rc=$? $(grep -E 'ERROR SUMMARY|RACECHECK SUMMARY|PASSED' "$OUT/sanitizer_$tool.log" | tr '\n' ' ')"
done
unset INTFA_CACHE_DIR INTFA_TUNING_DB

# Autotuner: a new GPU with an empty kernel cache, then with a warm cache.
export INTFA_CACHE_DIR=/tmp/intfa-cache-tune
s=$SECONDS; build/intfa-tune --db /tmp/tune.db > "$OUT/tune_cold.log" 2>&1; note "intfa-tune cold cache rc=$? wall $((SECONDS - s)) s: $(grep -i 'total' "$OUT/tune_cold.log" | tail -1)"
s=$SECONDS; build/intfa-tune --db /tmp/tune2.db > "$OUT/tune_warm.log" 2>&1; note "intfa-tune warm cache rc=$? wall $((SECONDS - s)) s: $(grep -i 'total' "$OUT/tune_warm.log" | tail -1)"
build/intfa-tune --db /tmp/tune.db --list > "$OUT/tune_list.log" 2>&1
cp /tmp/tune.db "$OUT/tuning.db" 2>/dev/null
INTFA_TUNING_DB=/tmp/tune.db build/intfa-perf --hd 128 --n 1024 --n 4096 --n 16384 --reps 20 > "$OUT/perf_tuned.log" 2>&1
INTFA_TUNING_DB=/tmp/tune.db build/intfa-perf --hd 64 --n 1024 --n 4096 --n 16384 --reps 20 >> "$OUT/perf_tuned.log" 2>&1
unset INTFA_CACHE_DIR

# Cold start: first call with an empty cache (JIT), with a warm disk cache (new process), and
# the in-process repeat (the demo's median).
cold=$(mktemp -d)
INTFA_CACHE_DIR=$cold INTFA_VERBOSE=1 build/intfa-demo --reps 20 > "$OUT/coldstart_empty.log" 2>&1
note "cold start, empty cache: $(grep -E 'first call|median' "$OUT/coldstart_empty.log" | tr '\n' ' ')"
INTFA_CACHE_DIR=$cold INTFA_VERBOSE=1 build/intfa-demo --reps 20 > "$OUT/coldstart_warm.log" 2>&1
note "cold start, warm disk cache: $(grep -E 'first call|median' "$OUT/coldstart_warm.log" | tr '\n' ' ')"
INTFA_CACHE_DIR=$cold INTFA_DISABLE_JIT=1 build/intfa-demo --reps 5 > "$OUT/nojit_cached.log" 2>&1
note "no-JIT with the warm cache rc=$?"
INTFA_CACHE_DIR=$(mktemp -d) INTFA_DISABLE_JIT=1 build/intfa-demo --reps 5 > "$OUT/nojit_empty.log" 2>&1
note "no-JIT with an empty cache rc=$? (must fail): $(grep -o 'JIT is disabled.*' "$OUT/nojit_empty.log" | head -1)"

# The README's main command (uses this build: the GPU machine cannot install packages).
timeout 240 bash scripts/main.sh > "$OUT/main_sh.log" 2>&1
note "scripts/main.sh rc=$? $(grep -E 'PASS|FAIL' "$OUT/main_sh.log" | tail -1)"
cat "$sum"
