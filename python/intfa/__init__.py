"""intfa for PyTorch: INT8 FlashAttention (INT-FlashAttention) from libintfa-jit.

    import intfa
    out = intfa.attention(q, k, v, causal=True)          # [B, N, H, D] fp16/bf16 CUDA tensors
    out = intfa.sdpa(q, k, v, is_causal=True)            # F.scaled_dot_product_attention's arguments
    out = intfa.attention_varlen(q, k, v, cu_q, cu_k)    # packed [total, H, D], FlashAttention's varlen

intfa.attention is a torch custom op underneath (torch.ops.intfa.attention): torch.compile
traces it without a graph break, and it captures into CUDA graphs. Importing needs neither a
GPU nor a driver; without torch only the library's own functions (version, library_path) work.
"""
from ._errors import IntfaError
from ._library import library_path

try:  # the installed distribution's (pyproject.toml takes it from CMakeLists.txt's project())
    from importlib.metadata import PackageNotFoundError, version as _dist_version
    __version__ = _dist_version("intfa")
except PackageNotFoundError:  # a source tree on sys.path
    __version__ = "source"


def library_version():
    """libintfa-jit's version string (loads the library)."""
    from ._library import lib
    return lib().intfa_version_string().decode()


try:
    import torch  # noqa: F401
except ImportError:  # the C library alone: attention and sdpa need torch
    torch = None

if torch is not None:
    from ._api import attention
    from ._varlen import attention_varlen
    from ._int8 import attention_int8, quantize_qk, quantize_v
    from ._warmup import warmup
    from .sdpa import sdpa, unsupported_reason
    from . import kv_cache
    from .kv_cache import KVCache

__all__ = ["IntfaError", "KVCache", "attention", "attention_int8", "attention_varlen", "library_path",
           "quantize_qk", "quantize_v", "library_version", "sdpa",
           "unsupported_reason", "warmup", "__version__"]
