#!/usr/bin/env bash
# Per-SASS-instruction warp-stall samples of one attention launch (ncu source counters), as CSV
# in $OUT/source_<variant>.csv, plus the top stalled instructions. build/ carried.
# usage: scripts/device_source_profile.sh hd n causal variant
source "$(dirname "$0")/device_env.sh"
export INTFA_LINEINFO=1 # source lines in the kernels (runtime/nvrtc.c)
hd=$1; n=$2; c=$3; v=$4
./build/intfa-perf --hd $hd --n $n --causal $c --reps 1 --variant $v > /dev/null 2>&1 # compile first
ncu --kernel-name intfa_attn_fwd --launch-skip 1 --launch-count 1 --section SourceCounters \
    --section WarpStateStats -o /tmp/src_rep -f ./build/intfa-perf --hd $hd --n $n --causal $c \
    --reps 1 --variant $v > "$OUT/ncu_src_log.txt" 2>&1
ncu -i /tmp/src_rep.ncu-rep --page source --csv --print-source sass > "$OUT/source_$v.csv" 2>&1 ||
  ncu -i /tmp/src_rep.ncu-rep --page source --csv > "$OUT/source_$v.csv" 2>&1
ncu -i /tmp/src_rep.ncu-rep --page details --print-details all > "$OUT/details_$v.txt" 2>&1
head -3 "$OUT/source_$v.csv" | cut -c1-600
grep -iE "stall|Warp Cycles" "$OUT/details_$v.txt" | head -40
