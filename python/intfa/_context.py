"""One intfa context per CUDA device, created on first use, shared by all threads.

intfa_create retains the device's primary context, the one PyTorch uses, so PyTorch's streams
belong to it. Contexts live until the process ends (destroying one at exit could race with
PyTorch's own teardown of the device)."""
import ctypes
import threading

from ._errors import check
from ._library import lib

_contexts = {}
_lock = threading.Lock()


def context(device_index):
    """The intfa_context * (as an int) of a device; raises IntfaError if it cannot be made."""
    ctx = _contexts.get(device_index)
    if ctx is not None:
        return ctx
    with _lock:
        if device_index not in _contexts:
            handle = ctypes.c_void_p()
            L = lib()
            check(L, L.intfa_create(ctypes.byref(handle), device_index),
                  "intfa_create(device %d)" % device_index)
            _contexts[device_index] = handle.value
    return _contexts[device_index]
