#!/bin/sh
# test_intfa_gen.sh - drives the intfa-gen tool: usage, --list, --emit-source and (with
# INTFA_GEN_TEST_COMPILE=1, ~20 s per arch) --compile --out.
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

if [ "${INTFA_GEN_TEST_COMPILE:-0}" = 1 ]; then
    expect_rc 0 "$gen" --compile --arch sm_89 --jobs 2 --out "$tmp/cubins"
    grep -q "^total: .* 0 failed" "$tmp/out" || fail "--compile printed no clean total line"
    m=$(grep -c -- "-sm89-" "$tmp/list")
    [ "$(ls "$tmp/cubins" | wc -l)" -eq "$m" ] || fail "--out did not write $m cubins"
fi

[ "$fails" -eq 0 ] && echo "test_intfa_gen: all passed"
exit $((fails != 0))
