#!/usr/bin/env bash
# The benchmark on the GPU machine, in one run (under 8 minutes on an H200): the FP16
# baseline's GPU test and the bench smoke test, intfa-bench's default sweep with the accuracy
# section, PyTorch SDPA (flash, cuDNN) beside intfa in one process, and the chart.
# Needs build/ (carried, with liblua5.4.so.0 beside libintfa-jit.so) and python3 with torch.
# Writes to $OUT: bench_log.txt, bench.csv, bench.json, accuracy.csv, sdpa.csv, sdpa.json,
# bench_chart.svg. INTFA_COMMIT names the commit in the results (default: git's HEAD).
# usage: OUT=/some/dir scripts/device_bench.sh
set -uo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-/tmp/intfa-out}
mkdir -p "$OUT"
commit=${INTFA_COMMIT:-$(git rev-parse --short HEAD 2>/dev/null || echo unknown)}
export INTFA_CACHE_DIR=${INTFA_CACHE_DIR:-/tmp/intfa-cache} # compiled kernels, shared by the steps
export LD_LIBRARY_PATH="$PWD/build${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
log="$OUT/bench_log.txt"
start=$SECONDS
budget=${BENCH_BUDGET_S:-450} # seconds for all steps
# seconds a step may take: its own cap, or what is left of the budget
cap() { local left=$((budget - (SECONDS - start))); echo $(($1 < left ? $1 : (left > 10 ? left : 10))); }
step() { # name cap command...
    local name=$1 limit; limit=$(cap "$2"); shift 2
    echo "== $name (at most ${limit}s)" | tee -a "$log"
    timeout "$limit" "$@" 2>&1 | tee -a "$log"
    local rc=${PIPESTATUS[0]}
    echo "== $name: rc=$rc after $((SECONDS - start))s" | tee -a "$log"
}

{
    echo "intfa device_bench.sh, commit $commit, $(date -u +%Y-%m-%dT%H:%M:%SZ)"
    nvidia-smi --query-gpu=name,driver_version,clocks.sm,clocks.max.sm,temperature.gpu,power.draw \
        --format=csv 2>&1
} | tee "$log"

step "test_gpu_baseline" 120 build/test_gpu_baseline
step "test_gpu_bench_smoke" 90 build/test_gpu_bench_smoke
step "intfa-bench" 240 build/intfa-bench --sweep default --accuracy --reps 30 --warmup 5 \
    --csv "$OUT/bench.csv" --json "$OUT/bench.json" --accuracy-csv "$OUT/accuracy.csv" \
    --label "commit $commit: scripts/device_bench.sh"
step "bench_sdpa.py" 200 python3 scripts/bench_sdpa.py --lib build/libintfa-jit.so --sweep default \
    --reps 30 --warmup 5 --csv "$OUT/sdpa.csv" --json "$OUT/sdpa.json" --label "commit $commit"
sdpa=()
[ -s "$OUT/sdpa.csv" ] && sdpa=(--sdpa-csv "$OUT/sdpa.csv")
if [ -s "$OUT/bench.csv" ]; then
    step "bench_chart.py" 30 python3 scripts/bench_chart.py --csv "$OUT/bench.csv" "${sdpa[@]}" \
        --out "$OUT/bench_chart.svg" --title "intfa INT8 attention vs FP16 attention ($commit)"
fi
echo "device_bench.sh: done in $((SECONDS - start))s; results in $OUT" | tee -a "$log"
