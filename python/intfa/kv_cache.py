"""intfa.KVCache: the paged INT8 KV cache for serving (intfa_kv_append, intfa_kv_attention).

    cache = intfa.KVCache(num_pages=4096, page_size=128, heads_kv=8, head_dim=128,
                          num_slots=64, dtype=torch.float16)
    # sequence b lives in slot slots[b]; its token t in page block_table[b, t // page_size]
    cache.append(k_new, v_new, cu_new, slots, lens, block_table)   # packed [total, H_kv, D]
    lens += cu_new.diff()                                            # the caller owns the lengths
    out = cache.attention(q, slots, lens, block_table, causal=True)  # q [B, seq_q, H_q, D]

slots, lens, block_table and cu_new are int32 CPU tensors (the library copies and checks them
on every call, so a call cannot be captured into a CUDA graph); the pool, the queries and the
outputs live on the GPU. Both calls run on the current stream and take their workspace from
PyTorch's allocator. head_dim is 64 or 128: the cache's kernels (intfa.attention takes every
multiple of 16 from 32 to 256).
"""
import ctypes as C

import torch

from . import _abi
from ._context import context
from ._errors import check
from ._library import lib


def _host_i32(x, name, numel=None, dims=1):
    if not isinstance(x, torch.Tensor) or x.device.type != "cpu" or x.dtype != torch.int32:
        raise TypeError("%s must be an int32 CPU tensor (got %s)" % (
            name, "%s %s" % (x.dtype, x.device) if isinstance(x, torch.Tensor) else type(x).__name__))
    if x.dim() != dims:
        raise ValueError("%s must have %d dimension(s), got shape %s" % (name, dims, tuple(x.shape)))
    if numel is not None and x.shape[0] != numel:
        raise ValueError("%s has %d rows, expected %d" % (name, x.shape[0], numel))
    return x.contiguous()


def _cuda_half(x, name, dtype, dims):
    if not isinstance(x, torch.Tensor) or not x.is_cuda:
        raise ValueError("%s must be a CUDA tensor" % name)
    if x.dtype != dtype:
        raise TypeError("%s is %s; the cache holds %s" % (name, x.dtype, dtype))
    if x.dim() != dims or x.stride(-1) != 1:
        raise ValueError("%s must have %d dimensions with the last contiguous (shape %s, strides %s)"
                         % (name, dims, tuple(x.shape), x.stride()))
    return x


class KVCache:
    """A pool of pages on one GPU (see the module's docstring)."""

    def __init__(self, num_pages, page_size, heads_kv, head_dim, num_slots, dtype=torch.float16,
                 device=None):
        if dtype not in (torch.float16, torch.bfloat16):
            raise TypeError("dtype must be torch.float16 or torch.bfloat16, got %s" % dtype)
        if head_dim not in _abi.HEAD_DIMS_CLASSIC:
            raise ValueError("head_dim = %r: the paged KV cache has kernels for head_dim 64 and 128 "
                             "only (intfa.attention takes every multiple of 16 from 32 to 256)"
                             % (head_dim,))
        self.dtype = dtype
        self.device = torch.device(device if device is not None else "cuda", )
        if self.device.type != "cuda":
            raise ValueError("device must be a CUDA device, got %s" % self.device)
        if self.device.index is None:
            self.device = torch.device("cuda", torch.cuda.current_device())
        self._desc = _abi.KVCache(None, num_pages, page_size, heads_kv, head_dim, num_slots,
                                  _abi.DTYPE[str(dtype).split(".")[1]])
        L = lib()
        nbytes = C.c_size_t()
        check(L, L.intfa_kv_cache_bytes(C.byref(self._desc), C.byref(nbytes)), "intfa_kv_cache_bytes")
        self.pool = torch.empty(nbytes.value, dtype=torch.uint8, device=self.device)
        self._desc.pool = self.pool.data_ptr()
        self.num_pages, self.page_size, self.heads_kv = num_pages, page_size, heads_kv
        self.head_dim, self.num_slots = head_dim, num_slots

    def _seqs(self, slots, lens, block_table):
        slots = _host_i32(slots, "slots")
        batch = slots.shape[0]
        lens = _host_i32(lens, "lens", batch)
        block_table = _host_i32(block_table, "block_table", batch, dims=2)
        keep = (slots, lens, block_table)  # alive until the call returns
        return _abi.KVSeqs(batch, slots.data_ptr(), lens.data_ptr(), block_table.data_ptr(),
                           block_table.shape[1]), keep

    def _workspace(self, seqs, query):
        L = lib()
        n = C.c_size_t()
        check(L, L.intfa_kv_workspace_size(C.byref(self._desc), C.byref(seqs),
                                           C.byref(query) if query is not None else None, C.byref(n)),
              "intfa_kv_workspace_size")
        return torch.empty(max(n.value, 1), dtype=torch.uint8, device=self.device)

    def append(self, k, v, cu_new, slots, lens, block_table):
        """Quantizes and stores new tokens: k, v [total_new, H_kv, D]; cu_new int32 [B + 1]
        cumulative counts from 0; lens are the lengths before the append."""
        k = _cuda_half(k, "k", self.dtype, 3)
        v = _cuda_half(v, "v", self.dtype, 3)
        seqs, keep = self._seqs(slots, lens, block_table)
        cu_new = _host_i32(cu_new, "cu_new", seqs.batch + 1)
        for name, x in (("k", k), ("v", v)):
            if x.shape[1:] != (self.heads_kv, self.head_dim) or x.shape[0] != int(cu_new[-1]):
                raise ValueError("%s has shape %s, expected [cu_new[-1] = %d, %d, %d]" % (
                    name, tuple(x.shape), int(cu_new[-1]), self.heads_kv, self.head_dim))
        ws = self._workspace(seqs, None)
        L = lib()
        kt = _abi.Tensor(k.data_ptr(), 0, k.stride(0), k.stride(1))
        vt = _abi.Tensor(v.data_ptr(), 0, v.stride(0), v.stride(1))
        check(L, L.intfa_kv_append(context(self.device.index), C.byref(self._desc), C.byref(seqs),
                                   C.byref(kt), C.byref(vt), cu_new.data_ptr(), ws.data_ptr(),
                                   ws.numel(), torch.cuda.current_stream(self.device).cuda_stream),
              "intfa_kv_append")
        del keep

    def attention(self, q, slots, lens, block_table, causal=False, scale=None, return_lse=False):
        """Attention of q [B, seq_q, H_q, D] over each sequence's cached tokens; returns out
        (like q) and, with return_lse, the LSE [B, H_q, seq_q] (fp32, natural log)."""
        q = _cuda_half(q, "q", self.dtype, 4)
        seqs, keep = self._seqs(slots, lens, block_table)
        if q.shape[0] != seqs.batch or q.shape[3] != self.head_dim:
            raise ValueError("q has shape %s, expected [%d, seq_q, H_q, %d]" % (
                tuple(q.shape), seqs.batch, self.head_dim))
        query = _abi.KVQuery(q.shape[2], q.shape[1], 0.0 if scale is None else float(scale), int(bool(causal)))
        out = torch.empty_like(q, memory_format=torch.contiguous_format)
        lse = torch.empty(q.shape[0], q.shape[2], q.shape[1], dtype=torch.float32, device=q.device) \
            if return_lse else None
        ws = self._workspace(seqs, query)
        L = lib()
        qt = _abi.Tensor(q.data_ptr(), q.stride(0), q.stride(1), q.stride(2))
        ot = _abi.Tensor(out.data_ptr(), out.stride(0), out.stride(1), out.stride(2))
        check(L, L.intfa_kv_attention(context(self.device.index), C.byref(self._desc), C.byref(seqs),
                                      C.byref(query), C.byref(qt), C.byref(ot),
                                      lse.data_ptr() if lse is not None else None, ws.data_ptr(),
                                      ws.numel(), torch.cuda.current_stream(self.device).cuda_stream),
              "intfa_kv_attention")
        del keep
        return (out, lse) if return_lse else out
