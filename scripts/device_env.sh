# Sourced by the device-machine scripts: repository root, $OUT, the carried build's libraries,
# note(), which prints a line and appends it to $OUT/summary.txt, and run(), a test step.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${OUT:-/tmp/intfa-out}; mkdir -p "$OUT"
export LD_LIBRARY_PATH="$PWD/build${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
sum="$OUT/summary.txt"
note() { echo "$*" | tee -a "$sum"; }
run() { # name limit_s command...: its log in $OUT/name.log, its verdict lines in the summary
  local name=$1 lim=$2; shift 2
  timeout "$lim" "$@" > "$OUT/$name.log" 2>&1
  note "$name rc=$? $(grep -E '^\[  (PASSED|FAILED)|ERROR SUMMARY|RACECHECK SUMMARY|SYNCCHECK SUMMARY' "$OUT/$name.log" | tr '\n' ' ')"
}
# this tree's quantization templates copied over an older template folder DIR (rendered through
# INTFA_TEMPLATE_DIR): since 2456287 quant_qk.cu holds intfa_quantize_v's kernels, which
# intfa-perf and the tests call, and the older quant_qk.cu lacks them
overlay_quant_templates() { cp templates/quant_qk.cu templates/quant_v_api.cu templates/quant_mean.cu templates/quant_v.cu "$1/"; }
