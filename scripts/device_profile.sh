#!/usr/bin/env bash
# ncu profile of one attention launch per variant (build/ carried). usage: device_profile.sh hd n causal variant...
set -uo pipefail
OUT=${OUT:-/tmp/intfa-out}; mkdir -p "$OUT"
hd=$1; n=$2; c=$3; shift 3
for v in "$@"; do
  echo "=== $v"
  ncu --kernel-name intfa_attn_fwd --launch-count 1 --section SpeedOfLight --section WarpStateStats \
      --section InstructionStats --section Occupancy --section LaunchStats \
      ./build/intfa-perf --hd $hd --n $n --causal $c --reps 1 --variant $v > "$OUT/ncu_$v.txt" 2>&1
  grep -E "Duration|Issue Slots Busy|Executed Ipc Active|Registers Per|Achieved Occupancy|Theoretical Occupancy|Block Limit|Warp Cycles Per Issued|Stall|SM Busy|Compute \(SM\) Throughput|Memory Throughput|Executed Instructions  " "$OUT/ncu_$v.txt" | head -30
done
