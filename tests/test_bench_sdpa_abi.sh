#!/bin/sh
# scripts/bench_sdpa.py calls libintfa-jit through ctypes with its own mirrors of intfa.h's
# structs; a field added in C and not there once shifted every later field (garbage smooth_k).
# This compares each mirror's member names with the header's and its size and offsets with the
# C compiler's. Exit 77 (skipped) where python3 is missing.
# usage: test_bench_sdpa_abi.sh <source dir> <C compiler>
set -eu
src=$1; cc=$2
command -v python3 >/dev/null || { echo "SKIP: test_bench_sdpa_abi needs python3"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
cat >"$tmp/abi.c" <<'C'
#include <stddef.h>
#include <stdio.h>
#include "intfa.h"
#define F(T, f) printf("%s.%s %zu\n", #T, #f, offsetof(T, f))
#define S(T) printf("%s %zu\n", #T, sizeof(T))
int main(void)
{
    S(intfa_tensor); F(intfa_tensor, data); F(intfa_tensor, stride_b); F(intfa_tensor, stride_n);
    F(intfa_tensor, stride_h);
    S(intfa_attn_problem); F(intfa_attn_problem, batch); F(intfa_attn_problem, heads_q);
    F(intfa_attn_problem, heads_kv); F(intfa_attn_problem, seq_q); F(intfa_attn_problem, seq_kv);
    F(intfa_attn_problem, head_dim); F(intfa_attn_problem, softmax_scale);
    F(intfa_attn_problem, causal); F(intfa_attn_problem, dtype); F(intfa_attn_problem, p_quant);
    F(intfa_attn_problem, v_scale); F(intfa_attn_problem, qk_format); F(intfa_attn_problem, smooth_k);
    S(intfa_qk_int8); F(intfa_qk_int8, values); F(intfa_qk_int8, scale); F(intfa_qk_int8, lse_bias);
    S(intfa_v_int8); F(intfa_v_int8, values); F(intfa_v_int8, scale);
    return 0;
}
C
"$cc" -std=c11 -I"$src/include" -o "$tmp/abi" "$tmp/abi.c"
"$tmp/abi" | sort >"$tmp/c.txt"
python3 - "$src/scripts" >"$tmp/py.txt" <<'PY'
import sys
sys.path.insert(0, sys.argv[1])
import ctypes as C
import bench_sdpa as b
for cname, cls in (("intfa_tensor", b.Tensor), ("intfa_attn_problem", b.Problem),
                   ("intfa_qk_int8", b.QK8), ("intfa_v_int8", b.V8)):
    print(cname, C.sizeof(cls))
    for f, _ in cls._fields_:
        print("%s.%s %d" % (cname, f, getattr(cls, f).offset))
PY
sort -o "$tmp/py.txt" "$tmp/py.txt"
# The member lists themselves, read from the header, so that a field appended in C (which
# padding may hide from the sizes) is caught too.
python3 - "$src/scripts" "$src/include/intfa.h" <<'PY' || exit 1
import re, sys
sys.path.insert(0, sys.argv[1])
import bench_sdpa as b
text = re.sub(r"/\*.*?\*/|//[^\n]*", "", open(sys.argv[2]).read(), flags=re.S)
bad = 0
for cname, cls in (("intfa_tensor", b.Tensor), ("intfa_attn_problem", b.Problem),
                   ("intfa_qk_int8", b.QK8), ("intfa_v_int8", b.V8)):
    m = re.search(r"typedef\s+struct\s+%s\s*\{(.*?)\}\s*%s\s*;" % (cname, cname), text, re.S)
    if not m:
        print("FAIL: struct %s not found in intfa.h" % cname)
        bad = 1
        continue
    members = []  # the last identifier of each declarator ("int64_t a, b;" declares two)
    for decl in m.group(1).split(";"):
        decl = re.sub(r"\[.*?\]", "", decl)
        members += [re.findall(r"\w+", part)[-1] for part in decl.split(",") if part.strip()]
    mirror = [f for f, _ in cls._fields_]
    if members != mirror:
        print("FAIL: %s: intfa.h has %s, bench_sdpa.py %s" % (cname, members, mirror))
        bad = 1
sys.exit(bad)
PY
if ! cmp -s "$tmp/c.txt" "$tmp/py.txt"; then
    echo "FAIL: scripts/bench_sdpa.py's struct mirrors differ from include/intfa.h (< C, > python):"
    diff "$tmp/c.txt" "$tmp/py.txt" || true
    exit 1
fi
echo "test_bench_sdpa_abi: $(wc -l <"$tmp/c.txt") sizes and offsets match"
