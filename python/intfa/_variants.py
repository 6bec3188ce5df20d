"""The library's default kernel set per target, by name (what the wheel's AOT table carries)."""
import ctypes

from . import _abi
from ._errors import check
from ._library import lib

AOT_TARGETS = ("sm_80", "sm_86", "sm_89", "sm_90a")  # the wheel's INTFA_AOT_ARCHS


def default_set(target):
    """Canonical names of intfa_variant_default_set for a target such as "sm_90a"."""
    L = lib()
    arch, count = ctypes.c_int(), ctypes.c_size_t()
    check(L, L.intfa_arch_parse(target.encode(), ctypes.byref(arch)), "intfa_arch_parse(%s)" % target)
    check(L, L.intfa_variant_default_set(arch.value, None, 0, ctypes.byref(count)), "intfa_variant_default_set")
    variants = (_abi.Variant * count.value)()
    check(L, L.intfa_variant_default_set(arch.value, variants, count.value, ctypes.byref(count)),
          "intfa_variant_default_set")
    name = ctypes.create_string_buffer(_abi.VARIANT_NAME_MAX)
    names = []
    for v in variants:
        check(L, L.intfa_variant_name(ctypes.byref(v), name, len(name)), "intfa_variant_name")
        names.append(name.value.decode())
    return names
