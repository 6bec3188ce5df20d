# Sourced by the device-machine scripts: repository root, $OUT, the carried build's libraries,
# and note(), which prints a line and appends it to $OUT/summary.txt.
set -uo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
OUT=${OUT:-/tmp/intfa-out}; mkdir -p "$OUT"
export LD_LIBRARY_PATH="$PWD/build${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
sum="$OUT/summary.txt"
note() { echo "$*" | tee -a "$sum"; }
