#!/bin/sh
# test_layout.sh - the include rules of docs/ARCHITECTURE.md: each library folder includes
# only its own headers and those of the folders it may depend on, so dependencies point one
# way (tuning -> runtime -> generator; runtime/ reaches tuning/ only through the function table
# of runtime/chooser.h, which needs no tuning/ header).
# A quoted include is found as the compiler finds it: next to the including file first, then
# in include/, generator/, runtime/, tuning/, reference/.
# usage: test_layout.sh <source dir>
set -u
src=${1:?usage: test_layout.sh <source dir>}
cd "$src" || exit 1

# where FILE INCLUDE: the header's path relative to the source dir, or nothing if not ours
where() {
    for d in "$(dirname "$1")" include generator runtime tuning reference; do
        if [ -f "$d/$2" ]; then
            realpath --relative-to=. "$d/$2"
            return
        fi
    done
}

# check FOLDER ALLOWED...: every quoted include of FOLDER/*.[ch] is in FOLDER or in one of
# ALLOWED (a folder, or one header's path); prints one line per other include
check() {
    dir=$1; shift
    for f in "$dir"/*.[ch]; do
        sed -n 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"\([^"]*\)".*/\1/p' "$f" |
        while read -r inc; do
            path=$(where "$f" "$inc")
            [ -n "$path" ] || continue
            ok=0
            for a in "$dir" "$@"; do
                case $path in "$a" | "$a"/*) ok=1 ;; esac
            done
            [ $ok = 1 ] || echo "FAIL: $f includes $path"
        done
    done
}

report=$({
    # generator/ reports errors through runtime/error.h, the one header every folder shares
    check generator include runtime/error.h
    check runtime include generator
    check tuning include generator runtime reference
    check reference include
    # the AOT table's writer and reader are build-time code (tools/gen/), not run-time library
    for f in runtime/aot_emit* runtime/aot_verify*; do
        [ -e "$f" ] && echo "FAIL: $f: AOT emission belongs in tools/gen/"
    done
})
if [ -n "$report" ]; then
    echo "$report" >&2
    exit 1
fi
echo "layout: include rules hold"
