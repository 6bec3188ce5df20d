#!/usr/bin/env bash
# The libFuzzer harnesses (fuzz/, docs/FUZZING.md): builds build-fuzz with clang
# (-DINTFA_FUZZ=ON) and runs each harness for SECONDS (default 30) on its seed corpus
# fuzz/corpus/<name> (the regression inputs among them), new inputs going to
# build-fuzz/corpus/<name>; prints the executions of each. A finding (crash, sanitizer report,
# failed oracle, timeout, out of memory) fails the script; its input is in build-fuzz/artifacts.
# usage: scripts/fuzz.sh [SECONDS] [more libFuzzer options, e.g. -runs=10000000]
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-30}
[ $# -gt 0 ] && shift
command -v nvcc >/dev/null || export PATH=/usr/local/cuda/bin:$PATH
dir=${INTFA_FUZZ_BUILD:-build-fuzz}
CC=clang cmake -S . -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DINTFA_FUZZ=ON \
  -DINTFA_BUILD_TESTS=OFF >/dev/null
cmake --build "$dir" -j"$(nproc)" --target fuzzers
# short allocation stacks: the template harness allocates a Lua state per input
export ASAN_OPTIONS=${ASAN_OPTIONS:-malloc_context_size=4:quarantine_size_mb=64}
mkdir -p "$dir/artifacts"
status=0
for src in fuzz/fuzz_*.c; do
  name=$(basename "$src" .c)
  short=${name#fuzz_}
  mkdir -p "$dir/corpus/$short"
  log="$dir/$name.log"
  if "$dir/$name" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
       -artifact_prefix="$dir/artifacts/$short-" "$@" "$dir/corpus/$short" "fuzz/corpus/$short" \
       >"$log" 2>&1; then
    result="no findings"
  else
    result="FINDING (log: $log)"
    status=1
  fi
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  echo "$name: ${execs:-?} executions: $result"
  [ $status = 0 ] || tail -n 30 "$log"
done
exit $status
