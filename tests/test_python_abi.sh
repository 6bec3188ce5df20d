#!/bin/sh
# The Python package (python/intfa/_abi.py, also used by scripts/bench_sdpa.py) calls
# libintfa-jit through ctypes with its own mirrors of intfa.h's structs; a field added in C and
# not there once shifted every later field (garbage smooth_k). This compares each mirror's
# member names with the header's and its size and offsets with the C compiler's, and checks
# that every function the package binds is declared in intfa.h (or runtime/baseline.h).
# Exit 77 (skipped) where python3 is missing.
# usage: test_python_abi.sh <source dir> <C compiler>
set -eu
src=$1; cc=$2
command -v python3 >/dev/null || { echo "SKIP: test_python_abi needs python3"; exit 77; }
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
# The C side prints sizeof and offsetof of every struct and member the mirrors name (the member
# lists themselves are compared with the header below).
python3 - "$src/python" >"$tmp/abi.c" <<'PY'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("intfa_abi", sys.argv[1] + "/intfa/_abi.py")
_abi = importlib.util.module_from_spec(spec)
spec.loader.exec_module(_abi)   # the file alone: the package's __init__ would import torch
print("#include <stddef.h>\n#include <stdio.h>\n#include \"intfa.h\"\nint main(void)\n{")
for cname, cls in _abi.STRUCTS.items():
    print('    printf("%s %%zu\\n", sizeof(%s));' % (cname, cname))
    for f, _ in cls._fields_:
        print('    printf("%s.%s %%zu\\n", offsetof(%s, %s));' % (cname, f, cname, f))
print("    return 0;\n}")
PY
"$cc" -std=c11 -I"$src/include" -o "$tmp/abi" "$tmp/abi.c"
"$tmp/abi" | sort >"$tmp/c.txt"
python3 - "$src/python" >"$tmp/py.txt" <<'PY'
import importlib.util, sys
spec = importlib.util.spec_from_file_location("intfa_abi", sys.argv[1] + "/intfa/_abi.py")
_abi = importlib.util.module_from_spec(spec)
spec.loader.exec_module(_abi)   # the file alone: the package's __init__ would import torch
import ctypes as C
for cname, cls in _abi.STRUCTS.items():
    print(cname, C.sizeof(cls))
    for f, _ in cls._fields_:
        print("%s.%s %d" % (cname, f, getattr(cls, f).offset))
PY
sort -o "$tmp/py.txt" "$tmp/py.txt"
# The member lists themselves, read from the header, so that a field appended in C (which
# padding may hide from the sizes) is caught too.
python3 - "$src/python" "$src/include/intfa.h" "$src/runtime/baseline.h" <<'PY' || exit 1
import importlib.util, re, sys
spec = importlib.util.spec_from_file_location("intfa_abi", sys.argv[1] + "/intfa/_abi.py")
_abi = importlib.util.module_from_spec(spec)
spec.loader.exec_module(_abi)
text = re.sub(r"/\*.*?\*/|//[^\n]*", "", open(sys.argv[2]).read(), flags=re.S)
baseline = open(sys.argv[3]).read()
bad = 0
for name, (argtypes, _) in {**_abi.SIGNATURES, **_abi.BASELINE_SIGNATURES}.items():
    m = re.search(r"\b%s\s*\(([^)]*)\)\s*;" % name, text if name in _abi.SIGNATURES else baseline)
    if not m:
        print("FAIL: %s is bound by python/intfa/_abi.py but not declared" % name)
        bad = 1
    elif len([a for a in m.group(1).split(",") if a.strip() not in ("", "void")]) != len(argtypes):
        print("FAIL: %s: intfa.h has %s, _abi.py %d arguments" % (name, m.group(1), len(argtypes)))
        bad = 1
for cname, cls in _abi.STRUCTS.items():
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
        print("FAIL: %s: intfa.h has %s, python/intfa/_abi.py %s" % (cname, members, mirror))
        bad = 1
sys.exit(bad)
PY
if ! cmp -s "$tmp/c.txt" "$tmp/py.txt"; then
    echo "FAIL: python/intfa/_abi.py's struct mirrors differ from include/intfa.h (< C, > python):"
    diff "$tmp/c.txt" "$tmp/py.txt" || true
    exit 1
fi
echo "test_python_abi: $(wc -l <"$tmp/c.txt") sizes and offsets match"
