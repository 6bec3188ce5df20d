#!/usr/bin/env bash
# Kernel-only timing sweep of attention variants on the device machine (build/ carried).
# usage: scripts/device_perf.sh "<tile list>" "<N list>" [hd list] [causal list]
set -uo pipefail
OUT=${OUT:-/tmp/intfa-out}; mkdir -p "$OUT"
tiles=${1:-"m128n64w8s2 m128n128w8s2"}; ns=${2:-"1024 4096 16384"}; hds=${3:-"128 64"}; causals=${4:-"0 1"}
nargs=""; for n in $ns; do nargs="$nargs --n $n"; done
for hd in $hds; do for c in $causals; do
  vargs=""; for t in $tiles; do vargs="$vargs --variant attn_fwd-sm90a-d$hd-int8-fp16-full-pu8-$t"; done
  ./build/intfa-perf --hd $hd --causal $c $nargs $vargs 2>&1 | tee -a "$OUT/perf.txt"
done; done
