"""CPU: what an installed package carries. Runs against the installed package (scripts/test_python.sh
installs the wheel it builds); skipped for a source tree run with $INTFA_LIBRARY."""
import os
import subprocess
import sys

import pytest

import intfa
from intfa import _variants

installed = pytest.mark.skipif(bool(os.environ.get("INTFA_LIBRARY")), reason="INTFA_LIBRARY overrides the package's library")


@installed
def test_library_is_the_packages_own_with_aot():
    path = intfa.library_path()
    assert path is not None and path.endswith("intfa/_lib/libintfa-jit-aot.so.0"), path
    assert intfa.library_version() == "%d.%d.%d" % tuple(int(x) for x in intfa.__version__.split(".")[:3])


@installed
def test_lua_comes_from_the_package():
    """The GPU machine has no Lua: the package's liblua5.4.so.0 must be the one found."""
    path = intfa.library_path()
    ldd = subprocess.run(["ldd", path], capture_output=True, text=True, check=True).stdout
    lua = [line for line in ldd.splitlines() if "liblua5.4.so.0" in line]
    assert lua and os.path.dirname(path) in lua[0], ldd
    assert "not found" not in ldd.replace("libnvrtc.so.13 => not found", ""), ldd


@installed
@pytest.mark.parametrize("target", _variants.AOT_TARGETS)
def test_aot_table_carries_the_default_set(target):
    with open(intfa.library_path(), "rb") as f:
        blob = f.read()
    names = _variants.default_set(target)
    assert len(names) >= 20
    missing = [n for n in names if n.encode() + b"\0" not in blob]
    assert not missing, "not precompiled for %s: %s" % (target, missing)


def test_import_needs_no_gpu():
    """A fresh interpreter imports intfa and loads the library with no driver present."""
    code = "import intfa, intfa._library as L; L.lib(); print(intfa.library_version())"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip().count(".") == 2
