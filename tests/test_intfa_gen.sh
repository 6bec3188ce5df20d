#!/bin/sh
# test_intfa_gen.sh - drives the intfa-gen tool: usage, --list, --emit-source, the selection
# options, --emit-aot (byte-identical output from two runs, stale cubins removed) and
# --verify (fresh after an emit, stale after a changed key or cubin byte; --recompile),
# --compile --cache (an entry published, then found), and
# (with INTFA_GEN_TEST_COMPILE=1, ~20 s per arch) --compile --out. The --emit-aot part
# compiles three small variants twice (a few seconds).
# usage: test_intfa_gen.sh path/to/intfa-gen
set -u
gen=${1:?usage: test_intfa_gen.sh path/to/intfa-gen}
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
fails=0
fail() { echo "FAIL: $*" >&2; fails=$((fails + 1)); }

expect_rc() { # expected-rc command...
    want=$1; shift
    "$@" >"$tmp/out" 2>"$tmp/err"
    got=$?
    [ "$got" -eq "$want" ] || fail "$* exited $got, expected $want: $(head -c 300 "$tmp/err")"
}

expect_rc 0 "$gen" --help
grep -q -- "--compile" "$tmp/out" || fail "--help does not describe --compile"
expect_rc 2 "$gen"
expect_rc 2 "$gen" --no-such-option
grep -q "usage" "$tmp/err" || fail "unknown option prints no usage"
expect_rc 2 "$gen" --list --arch sm_70
expect_rc 2 "$gen" --list --jobs 2
expect_rc 2 "$gen" --compile --jobs 0

expect_rc 0 "$gen" --list
cp "$tmp/out" "$tmp/list"
n=$(wc -l <"$tmp/list")
[ "$n" -gt 0 ] || fail "--list printed nothing"
[ "$(sort -u "$tmp/list" | wc -l)" -eq "$n" ] || fail "--list printed duplicate names"
for a in sm80 sm86 sm89 sm90a; do
    grep -q -- "-$a-" "$tmp/list" || fail "--list has no $a variant"
done
expect_rc 0 "$gen" --list --arch sm_90a
grep -qv -- "-sm90a-" "$tmp/out" && fail "--list --arch sm_90a lists other archs"

first=$(head -n 1 "$tmp/list")
expect_rc 0 "$gen" --emit-source "$first"
grep -q "__global__" "$tmp/out" || fail "--emit-source $first printed no kernel"
expect_rc 2 "$gen" --emit-source not-a-variant
[ -s "$tmp/err" ] || fail "--emit-source of a bad name prints no message"

# ------------------------------------------------------------------ selection
expect_rc 2 "$gen" --emit-source "$first" --head-dims 64
expect_rc 2 "$gen" --emit-aot "$tmp/x" --out "$tmp/y"
expect_rc 2 "$gen" --list --recompile
expect_rc 2 "$gen" --verify "$tmp/no-such-table"
expect_rc 2 "$gen" --list --head-dims 72
grep -q "multiples of 16 from 32 to 256" "$tmp/err" || fail "--head-dims 72 does not say what is allowed"
expect_rc 2 "$gen" --list --kinds attn_fp16 --dtypes bf16   # the FP16 baseline is fp16 only
grep -q "empty" "$tmp/err" || fail "an empty selection is not called empty"
expect_rc 0 "$gen" --list --formats int4 --kinds attn_fwd,quant_qk
grep -v -- "-int4-" "$tmp/out" | grep -q . && fail "--formats int4 let INT8 variants through"
[ "$(wc -l <"$tmp/out")" -eq 32 ] || fail "--formats int4: not 8 INT4 variants per target"
expect_rc 2 "$gen" --list --kinds attn_bwd
expect_rc 2 "$gen" --list --dtypes fp16,

expect_rc 0 "$gen" --list --kinds quant_qk --head-dims 64 --dtypes fp16 --formats int8
[ "$(wc -l <"$tmp/out")" -eq 4 ] || fail "quant_qk d64 fp16 is not one variant per target"
grep -v -- "-d64-int8-fp16-" "$tmp/out" | grep -q . && fail "--head-dims/--dtypes let others through"
expect_rc 0 "$gen" --list --arch 90a --kinds attn_fwd,quant_v --causal 1 --p-quant ps8
grep -q "^quant_v-sm90a-" "$tmp/out" || fail "--causal dropped quant_v (it has no mask)"
grep "^attn_fwd" "$tmp/out" | grep -v -- "-sm90a-.*-causal-ps8-" | grep -q . &&
    fail "--causal 1 --p-quant ps8 let other attention variants through"
grep -q "^attn_fwd" "$tmp/out" || fail "--causal 1 --p-quant ps8 selected no attention"

qa=quant_qk-sm80-d64-int8-fp16-w4
qb=quant_qk-sm90a-d64-int8-fp16-w4
at=attn_fwd-sm86-d64-int8-fp16-full-pu8-m64n128w4s2
expect_rc 0 "$gen" --list --variants "$qb,$qa,$qa"
printf '%s\n%s\n' "$qa" "$qb" | cmp -s - "$tmp/out" || fail "--variants is not sorted and unique"
expect_rc 2 "$gen" --list --variants "$qa,not-a-variant"
expect_rc 2 "$gen" --list --variants "$qa" --arch sm_86

cat >"$tmp/tuning.db" <<'DB'
intfa-tuning-db 1
[device]
gpu = NVIDIA Test GPU
sm_count = 132
compute_capability = 9.0
driver = 13000
nvrtc = 13000
library = 0.1.0
d128 int8 fp16 causal pu8 kv<=1024 attn_fwd-sm90a-d128-int8-fp16-causal-pu8-m64n64w4s3 0.05
d128 int8 fp16 causal pu8 kv<=4096 attn_fwd-sm90a-d128-int8-fp16-causal-pu8-m64n64w4s3 0.2 attn_fwd-sm90a-d128-int8-fp16-causal-pu8-m64n64w4s2 0.21
DB
expect_rc 0 "$gen" --list --from-tuning-db "$tmp/tuning.db"
cat >"$tmp/want" <<'EOF2'
attn_fwd-sm90a-d128-int8-bf16-causal-pu8-m64n64w4s3
attn_fwd-sm90a-d128-int8-fp16-causal-pu8-m64n64w4s3
quant_qk-sm90a-d128-int8-bf16-w4
quant_qk-sm90a-d128-int8-fp16-w4
quant_v-sm90a-d128-bf16-w4
quant_v-sm90a-d128-fp16-w4
EOF2
cmp -s "$tmp/want" "$tmp/out" || fail "--from-tuning-db selected: $(tr '\n' ' ' <"$tmp/out")"
expect_rc 0 "$gen" --list --from-tuning-db "$tmp/tuning.db" --dtypes fp16 --kinds attn_fwd
[ "$(cat "$tmp/out")" = attn_fwd-sm90a-d128-int8-fp16-causal-pu8-m64n64w4s3 ] ||
    fail "filters do not narrow --from-tuning-db"
expect_rc 0 "$gen" --list --arch sm_90a
n90=$(wc -l <"$tmp/out")
expect_rc 0 "$gen" --list --from-tuning-db "$tmp/tuning.db" --default-set --arch sm_90a
[ "$(wc -l <"$tmp/out")" -eq $((n90 + 2)) ] || fail "--default-set does not add the default set"
expect_rc 2 "$gen" --list --from-tuning-db "$tmp/no-such.db"

# ------------------------------------------------------------------ --emit-aot, --verify
sel="--variants $qa,$qb,$at --jobs 2"
# a table holds the library's kernels: INTFA_KV_TMA=0 (the cp.async ring, A/B timing) refused
INTFA_KV_TMA=0; export INTFA_KV_TMA
expect_rc 2 "$gen" --emit-aot "$tmp/kv0" $sel
unset INTFA_KV_TMA
grep -q "INTFA_KV_TMA" "$tmp/err" || fail "--emit-aot with INTFA_KV_TMA=0 does not name the variable"
[ -e "$tmp/kv0" ] && fail "--emit-aot with INTFA_KV_TMA=0 wrote $tmp/kv0"
expect_rc 0 "$gen" --emit-aot "$tmp/a" $sel
mkdir -p "$tmp/b/cubins" && echo old >"$tmp/b/cubins/$qa-old.cubin"
expect_rc 0 "$gen" --emit-aot "$tmp/b" $sel
for f in intfa_aot_table.c intfa_aot_table.h cubins/$qa.cubin cubins/$qb.cubin cubins/$at.cubin; do
    [ -s "$tmp/a/$f" ] || fail "--emit-aot wrote no $f"
    cmp -s "$tmp/a/$f" "$tmp/b/$f" || fail "--emit-aot is not deterministic: $f differs"
done
[ "$(ls "$tmp/b/cubins" | wc -l)" -eq 3 ] || fail "--emit-aot left a cubin of another selection"
grep -q "$tmp" "$tmp/a/intfa_aot_table.c" && fail "the table names the output directory"
grep -q "^#define INTFA_AOT_TABLE_ENTRIES 3$" "$tmp/a/intfa_aot_table.h" ||
    fail "the header does not count 3 entries"

expect_rc 0 "$gen" --verify "$tmp/a"
[ "$(grep -c "^fresh " "$tmp/out")" -eq 3 ] || fail "--verify of a fresh table: $(cat "$tmp/out")"
expect_rc 0 "$gen" --verify "$tmp/a/intfa_aot_table.c" --recompile --jobs 2
grep -q "3 fresh, 0 stale" "$tmp/out" || fail "--verify --recompile: NVRTC output differs"

# a changed key: that entry is stale, the others fresh
mkdir "$tmp/t" && cp "$tmp/a/intfa_aot_table.c" "$tmp/t/"
sed -i "/^    {\"$qa\"/{s/ULL, \([0-9]*\), \"0/ULL, \1, \"1/;t;s/ULL, \([0-9]*\), \"[1-9a-f]/ULL, \1, \"0/}" \
    "$tmp/t/intfa_aot_table.c"
cmp -s "$tmp/a/intfa_aot_table.c" "$tmp/t/intfa_aot_table.c" && fail "could not change a key"
expect_rc 1 "$gen" --verify "$tmp/t"
grep -q "^stale $qa (sm_80): key differs" "$tmp/out" || fail "a changed key is not stale: $(cat "$tmp/out")"
[ "$(grep -c "^fresh " "$tmp/out")" -eq 2 ] || fail "a changed key made other entries stale"
# a changed cubin byte
cp "$tmp/a/intfa_aot_table.c" "$tmp/t/"
sed -i '0,/^"\\177ELF/s//"\\177ELG/' "$tmp/t/intfa_aot_table.c"
expect_rc 1 "$gen" --verify "$tmp/t/intfa_aot_table.c"
grep -q "^stale .*SHA-256" "$tmp/out" || fail "a changed cubin byte is not stale: $(cat "$tmp/out")"
# not a table
echo "int x;" >"$tmp/t/intfa_aot_table.c"
expect_rc 1 "$gen" --verify "$tmp/t"
grep -q "not a generated table" "$tmp/err" || fail "--verify of a non-table says: $(cat "$tmp/err")"

# --compile --cache: compiled into the kernel cache on a miss, found there the second time
expect_rc 2 "$gen" --list --cache
v=quant_v-sm80-d64-fp16-w4
INTFA_CACHE_DIR="$tmp/kc" expect_rc 0 "$gen" --compile --cache --variants "$v"
[ "$(ls "$tmp/kc" | grep -c '\.cubin$')" -eq 1 ] || fail "--cache left no cache entry: $(ls "$tmp/kc")"
INTFA_CACHE_DIR="$tmp/kc" expect_rc 0 "$gen" --compile --cache --variants "$v"
ms=$(awk -v v="$v" '$1 == v { print $3 }' "$tmp/out")
[ -n "$ms" ] && [ "$ms" -lt 200 ] || fail "--cache did not find the entry the second time ($ms ms)"

if [ "${INTFA_GEN_TEST_COMPILE:-0}" = 1 ]; then
    expect_rc 0 "$gen" --compile --arch sm_89 --jobs 2 --out "$tmp/cubins"
    grep -q "^total: .* 0 failed" "$tmp/out" || fail "--compile printed no clean total line"
    m=$(grep -c -- "-sm89-" "$tmp/list")
    [ "$(ls "$tmp/cubins" | wc -l)" -eq "$m" ] || fail "--out did not write $m cubins"
fi

[ "$fails" -eq 0 ] && echo "test_intfa_gen: all passed"
exit $((fails != 0))
