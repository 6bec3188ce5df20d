#!/usr/bin/env bash
# Kernel-only timing of experimental template directories side by side (device machine,
# build/ carried): for each DIR, intfa-perf with INTFA_TEMPLATE_DIR=DIR (the JIT renders from
# it; the cache key covers the source, so the variants never mix).
# usage: scripts/device_exp.sh "<dirs>" "<tiles>" "<N list>" "<hd list>" "<causal list>"
source "$(dirname "$0")/device_env.sh"
for d in $1; do
  echo "### templates: $d" >> "$OUT/exp.txt"
  overlay_quant_templates "$PWD/$d"
  INTFA_TEMPLATE_DIR=$PWD/$d OUT=$OUT/tmp_$$ bash scripts/device_perf.sh "$2" "$3" "$4" "$5" > /dev/null
  cat "$OUT/tmp_$$/perf.txt" >> "$OUT/exp.txt"; rm -rf "$OUT/tmp_$$"
done
