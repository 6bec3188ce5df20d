"""Finding and loading libintfa-jit: once per process, on first use (import never loads it).

Where from, the first that exists:
  1. $INTFA_LIBRARY: a path to a libintfa-jit shared library (a source build's
     build/libintfa-jit.so, say);
  2. the package's own _lib/libintfa-jit-aot.so.0 (the wheel's: precompiled kernels for sm_80,
     sm_86, sm_89 and sm_90a), else _lib/libintfa-jit.so.0.
The library links liblua5.4.so.0 (the package carries one beside it, found through the run
path $ORIGIN) and libnvrtc.so.13 (the build's CUDA toolkit's, through the run path; where that
is not found, $CUDA_HOME's or /usr/local/cuda's lib64, or the copy in PyTorch's
nvidia-cuda-nvrtc wheel, is loaded first). libcuda is opened
by the library itself, at the first GPU call.
"""
import ctypes
import glob
import os
import sys
import threading

from . import _abi

_LIB_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "_lib")
_NAMES = ("libintfa-jit-aot.so.0", "libintfa-jit.so.0")
_lock = threading.Lock()
_lib = None


def library_path():
    """The path of the libintfa-jit that intfa loads (or would load), or None if there is none."""
    env = os.environ.get("INTFA_LIBRARY")
    if env:
        return env
    for name in _NAMES:
        path = os.path.join(_LIB_DIR, name)
        if os.path.exists(path):
            return path
    return None


def _nvrtc_elsewhere():
    """libnvrtc.so.13 where the library's run path did not look: the toolkit under $CUDA_HOME or
    /usr/local/cuda (lib64), or an nvidia-cuda-nvrtc wheel on sys.path; None if nowhere."""
    roots = [os.environ.get("CUDA_HOME") or os.environ.get("CUDA_PATH"), "/usr/local/cuda"]
    candidates = [os.path.join(r, d, "libnvrtc.so.13") for r in roots if r for d in ("lib64", "lib")]
    for base in sys.path:
        for pattern in ("nvidia/cu13/lib/libnvrtc.so.13", "nvidia/cuda_nvrtc/lib/libnvrtc.so.13"):
            candidates += glob.glob(os.path.join(base, pattern))
    return next((c for c in candidates if os.path.exists(c)), None)


def _load(path):
    try:
        return ctypes.CDLL(path)
    except OSError as err:
        nvrtc = _nvrtc_elsewhere() if "libnvrtc" in str(err) else None
        if not nvrtc:
            raise
    ctypes.CDLL(nvrtc, mode=ctypes.RTLD_GLOBAL)
    return ctypes.CDLL(path)


def lib():
    """The loaded library with its signatures bound (raises ImportError if it cannot load)."""
    global _lib
    if _lib is not None:
        return _lib
    with _lock:
        if _lib is None:
            path = library_path()
            if path is None:
                raise ImportError("intfa: no libintfa-jit in %s and INTFA_LIBRARY is not set "
                                  "(install the package with `pip install .` from the intfa "
                                  "source tree, or point INTFA_LIBRARY at build/libintfa-jit.so)"
                                  % _LIB_DIR)
            try:
                loaded = _load(path)
            except OSError as err:
                raise ImportError("intfa: cannot load %s: %s" % (path, err)) from err
            _lib = _abi.bind(loaded, _abi.SIGNATURES)
    return _lib
