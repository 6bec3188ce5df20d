#!/usr/bin/env bash
# Checks a property of pf16's machine code that its design depends on and that only the SASS
# shows: the product P_{kt-1} V_{kt-1} runs behind the softmax of tile kt, i.e. every run of the
# tile's exponentials (MUFU.EX2, BN / 2 + 2 of them) ends at a wait for every product
# (WARPGROUP.DEPBAR ... 0x0), never at the next tile's wait for S alone (0x1). ptxas hoisted the
# P.V wait above the exponentials until the wait was put inside the rescale's branch
# (templates/attn_fwd_wg16.cu, wait_pv_rescale; docs/PERF_NOTES.md, "The overlap that ptxas
# removed"); a toolkit or template change that brings that back fails here. Needs build/intfa-gen,
# nvcc and a cuobjdump (the CUDA toolkit's or the one in Triton's wheel, which the Python tests
# install); without one it says SKIP.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v nvcc >/dev/null || export PATH=/usr/local/cuda/bin:$PATH
dump=$(command -v cuobjdump || true)
if [ -z "$dump" ]; then
  dump=$(python3 -c "import os, triton; print(os.path.join(os.path.dirname(triton.__file__), 'backends/nvidia/bin/cuobjdump'))" 2>/dev/null || true)
fi
if [ -z "$dump" ] || [ ! -x "$dump" ]; then echo "sass_check: SKIP (no cuobjdump)"; exit 0; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
fail=0
for v in attn_fwd-sm90a-d128-int8-fp16-full-pf16-m64n128w4s2 attn_fwd-sm90a-d128-int8-bf16-causal-pf16-m64n128w4s2 \
         attn_fwd-sm90a-d128-int8-fp16-full-pf16-m64n64w4s2 attn_fwd-sm90a-d64-int8-fp16-causal-pf16-m64n128w4s2; do
  build/intfa-gen --emit-source "$v" > "$tmp/k.cu"
  nvcc -arch=sm_90a -cubin -std=c++17 -DINTFA_NVRTC=1 "$tmp/k.cu" -o "$tmp/k.cubin" 2> "$tmp/nvcc.log" ||
    { cat "$tmp/nvcc.log"; exit 1; }
  # the ex2 count between consecutive WARPGROUP.DEPBARs, and which wait ends each run
  runs=$("$dump" -sass "$tmp/k.cubin" 2>/dev/null |
         awk '/WARPGROUP.DEPBAR/{printf "%d%s ", e, ($0 ~ /0x1/ ? "w1" : "w0"); e = 0; next} /MUFU.EX2/{e++}')
  # a tile's run must end at a full wait, with at most one full wait (tile 0's, which has no
  # P.V in flight) between the wait for S and the run: a second one would be the P.V wait hoisted
  bad=$(echo "$runs" | tr ' ' '\n' | awk '$0 == "" {next} {n = $0 + 0}
        n >= 32 && ($0 !~ /w0$/ || since_s > 1) {print}
        /w1$/ {since_s = 0; next} {since_s++}' | wc -l)
  tiles=$(echo "$runs" | tr ' ' '\n' | awk '{n = $0 + 0} n >= 32' | wc -l)
  if [ "$tiles" -eq 0 ] || [ "$bad" -ne 0 ]; then
    echo "sass_check: FAIL $v: ex2 runs and the waits that end them: $runs"; fail=1
  else
    echo "sass_check: ok $v ($tiles tile softmaxes behind their P.V: $runs)"
  fi
done
exit $fail
