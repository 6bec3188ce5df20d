#!/usr/bin/env bash
# A/B timing of template versions on the device machine: the same variants rendered from each
# template directory (INTFA_TEMPLATE_DIR; "-" = the embedded templates), kernel-only, in one
# process per version, one after another on the same GPU.
# usage: scripts/device_ws_ab.sh "<label=dir ...>" "<tiles>" "<N list>" "<hd list>" "<causal list>"
source "$(dirname "$0")/device_env.sh"
versions=$1; tiles=$2; ns=${3:-16384}; hds=${4:-"128 64"}; causals=${5:-"0 1"}
nargs=""; for n in $ns; do nargs="$nargs --n $n"; done
for hd in $hds; do for c in $causals; do
  mask=full; [ "$c" = 1 ] && mask=causal
  vargs="--variant attn_fwd-sm90a-d$hd-int8-fp16-$mask-pu8-m64n128w4s2"
  for t in $tiles; do vargs="$vargs --variant attn_fwd-sm90a-d$hd-int8-fp16-$mask-pu8-$t"; done
  for ver in $versions; do
    label=${ver%%=*}; dir=${ver#*=}
    echo "--- $label"
    if [ "$dir" = - ]; then env -u INTFA_TEMPLATE_DIR timeout 200 ./build/intfa-perf --hd $hd --causal $c $nargs $vargs
    else overlay_quant_templates "$PWD/$dir"
      INTFA_TEMPLATE_DIR=$PWD/$dir timeout 200 ./build/intfa-perf --hd $hd --causal $c $nargs $vargs; fi 2>&1 | grep -v compil
  done
done; done 2>&1 | tee -a "$OUT/ab.txt"
