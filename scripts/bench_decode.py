#!/usr/bin/env python3
"""bench_decode.py - decode against a paged INT8 KV cache (intfa_kv_attention) beside PyTorch's
FP16 decode, in one process (issue 17's targets).

For each (B, N_kv): a cache of B sequences of N_kv tokens (H_kv = 8, head_dim 128, pages of
--page-size tokens handed out in a shuffled order, filled by intfa_kv_append from random
fp16 K/V), one query token per sequence with H_q = 32 (GQA 32/8). Times, with CUDA events over
--reps back-to-back calls (the median of --rounds such loops; what a decode step costs with
its host work, no CUDA graph):
  intfa      intfa_kv_attention (Q quantized in the kernel, keys split across blocks)
  sdpa-*     torch SDPA on fp16 K/V [B, 8, N, 128] for each backend (flash, efficient, cudnn),
             with the 4 query heads of a K/V head folded into 4 query rows (what FlashDecoding
             does: K/V read once), and with enable_gqa=True; the fastest is the baseline
  copy       a device-to-device copy of 1 GiB: the bandwidth reference (read + write bytes / time)
Each is timed cycling through as many copies of its cache as hold twice the GPU's L2 (at most 8),
so that a call reads its K/V from DRAM as a decode step does (the layers between two steps of
one layer evict it); --warm-l2 times one copy (session 4's figures: at B = 1 and 16k the int8
cache, 33 MB, then partly stays in the 50 MB L2 between calls).
Reports the bytes each reads per call (int8 K/V and their scales; fp16 K/V) over its time, that
as a share of the copy bandwidth, the speedup over the fastest FP16 decode, and intfa's error
against SDPA's output (relative L2). --contiguous also times the cache with its pages in order.

usage: PYTHONPATH=python INTFA_LIBRARY=build/libintfa-jit.so LD_LIBRARY_PATH=build \\
       python3 scripts/bench_decode.py [--batches 1,8,64] [--lens 4096,16384,32768,131072]
       [--max-tokens 2097152] [--page-size 128] [--reps 20] [--rounds 5] [--warm-l2] [--json FILE]
Exits 77 where torch or a GPU is missing.
"""
import argparse
import ctypes as C
import itertools
import json
import statistics
import sys

try:
    import torch
    import torch.nn.functional as F
except ImportError:
    print("SKIP: bench_decode needs torch")
    sys.exit(77)

HKV, HQ, D = 8, 32, 128


def intfa_lib():
    from intfa import _abi, _context, _library
    lib = _library.lib()
    return lib, _abi, _context.context(torch.cuda.current_device())


def check(lib, st, what):
    if st != 0:
        raise RuntimeError("%s: %s" % (what, lib.intfa_last_error().decode()))


def timed(fn, reps, rounds, gpu_only=True):
    """Median over rounds of (events around reps calls) / reps, in ms. gpu_only: a sleep kernel
    queued first keeps the GPU busy while the host issues the calls, so the events time the GPU
    work alone (else the host's time per call shows wherever it is the longer)."""
    fn()
    torch.cuda.synchronize()
    out = []
    for _ in range(rounds):
        e0, e1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        if gpu_only:
            torch.cuda._sleep(4_000_000)  # ~2 ms: longer than the host takes to issue reps calls
        e0.record()
        for _ in range(reps):
            fn()
        e1.record()
        e1.synchronize()
        out.append(e0.elapsed_time(e1) / reps)
    return statistics.median(out)


def copy_bandwidth(reps):
    n = 1 << 30
    src = torch.empty(n, dtype=torch.uint8, device="cuda")
    dst = torch.empty_like(src)
    ms = timed(lambda: dst.copy_(src), reps, 5)
    del src, dst
    return 2 * n / ms * 1e-6  # GB/s, read + write


class Cache:
    """A pool of B x N_kv tokens, filled with random fp16 K/V; the same K/V kept in fp16 for SDPA."""

    def __init__(self, L, abi, ctx, batch, n, ps, shuffled):
        self.L, self.abi, self.ctx = L, abi, ctx
        pages_per_seq = (n + ps - 1) // ps
        num_pages = batch * pages_per_seq
        self.desc = abi.KVCache(None, num_pages, ps, HKV, D, batch, abi.DTYPE["float16"])
        nbytes = C.c_size_t()
        check(L, L.intfa_kv_cache_bytes(C.byref(self.desc), C.byref(nbytes)), "intfa_kv_cache_bytes")
        self.pool = torch.empty(nbytes.value, dtype=torch.uint8, device="cuda")
        self.desc.pool = self.pool.data_ptr()
        order = torch.randperm(num_pages) if shuffled else torch.arange(num_pages)
        self.table = order.to(torch.int32).reshape(batch, pages_per_seq).contiguous()
        self.slots = torch.arange(batch, dtype=torch.int32)
        self.lens = torch.zeros(batch, dtype=torch.int32)
        self.seqs = abi.KVSeqs(batch, self.slots.data_ptr(), self.lens.data_ptr(),
                               self.table.data_ptr(), pages_per_seq)
        self.k16 = torch.empty(batch, HKV, n, D, dtype=torch.float16, device="cuda")
        self.v16 = torch.empty_like(self.k16)
        g = torch.Generator(device="cuda").manual_seed(1)
        chunk = max(1, min(n, (1 << 18) // batch))
        for t0 in range(0, n, chunk):
            t1 = min(n, t0 + chunk)
            k = torch.randn(batch, t1 - t0, HKV, D, dtype=torch.float16, device="cuda", generator=g)
            v = torch.randn(batch, t1 - t0, HKV, D, dtype=torch.float16, device="cuda", generator=g)
            self.k16[:, :, t0:t1] = k.transpose(1, 2)
            self.v16[:, :, t0:t1] = v.transpose(1, 2)
            cu = torch.arange(batch + 1, dtype=torch.int32) * (t1 - t0)
            kt = abi.Tensor(k.data_ptr(), 0, HKV * D, D)
            vt = abi.Tensor(v.data_ptr(), 0, HKV * D, D)
            check(L, L.intfa_kv_append(ctx, C.byref(self.desc), C.byref(self.seqs), C.byref(kt), C.byref(vt),
                                       cu.data_ptr(), None, 0, torch.cuda.current_stream().cuda_stream),
                  "intfa_kv_append")
            torch.cuda.synchronize()
            self.lens += t1 - t0
        self.query = abi.KVQuery(HQ, 1, 0.0, 0)
        ws = C.c_size_t()
        check(L, L.intfa_kv_workspace_size(C.byref(self.desc), C.byref(self.seqs), C.byref(self.query),
                                           C.byref(ws)), "intfa_kv_workspace_size")
        self.ws = torch.empty(max(ws.value, 256), dtype=torch.uint8, device="cuda")

    def attention(self, q, out):
        abi, L = self.abi, self.L
        qt = abi.Tensor(q.data_ptr(), q.stride(0), q.stride(1), q.stride(2))
        ot = abi.Tensor(out.data_ptr(), out.stride(0), out.stride(1), out.stride(2))
        check(L, L.intfa_kv_attention(self.ctx, C.byref(self.desc), C.byref(self.seqs), C.byref(self.query),
                                      C.byref(qt), C.byref(ot), None, self.ws.data_ptr(), self.ws.numel(),
                                      torch.cuda.current_stream().cuda_stream), "intfa_kv_attention")

    def int8_bytes(self):
        b, n = self.k16.shape[0], self.k16.shape[2]
        pages = self.table.numel()
        return b * n * HKV * (2 * D + 4) + pages * HKV * D * 4


def sdpa_candidates(q, k16, v16):
    """name -> fn computing [B, HQ, 1, D] for each SDPA backend and GQA form that runs (each
    enters its backend's context; time them with sdpa_times, which enters it once)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    b = q.shape[0]
    q4 = q.reshape(b, HKV, HQ // HKV, D)  # the 4 heads of a K/V head as 4 query rows
    backends = {"flash": SDPBackend.FLASH_ATTENTION, "efficient": SDPBackend.EFFICIENT_ATTENTION,
                "cudnn": SDPBackend.CUDNN_ATTENTION}
    out = {}
    for name, be in backends.items():
        def folded(be=be):
            with sdpa_kernel(be):
                return F.scaled_dot_product_attention(q4, k16, v16).reshape(b, HQ, 1, D)

        def gqa(be=be):
            with sdpa_kernel(be):
                return F.scaled_dot_product_attention(q.reshape(b, HQ, 1, D), k16, v16, enable_gqa=True)
        for form, fn in (("folded", folded), ("gqa", gqa)):
            try:
                fn()
                torch.cuda.synchronize()
                out["sdpa-%s-%s" % (name, form)] = (fn, be, form)
            except RuntimeError:
                pass
    return out


def sdpa_times(cands, q, kvs, reps, rounds, gpu_only):
    """name -> ms of the bare F.scaled_dot_product_attention call, its backend entered once,
    cycling through the (k16, v16) pairs kvs."""
    from torch.nn.attention import sdpa_kernel
    b = q.shape[0]
    q4 = q.reshape(b, HKV, HQ // HKV, D)
    times = {}
    for name, (_, be, form) in cands.items():
        nxt = itertools.cycle(kvs).__next__
        with sdpa_kernel(be):
            if form == "folded":
                fn = lambda: F.scaled_dot_product_attention(q4, *nxt())  # noqa: E731
            else:
                fn = lambda: F.scaled_dot_product_attention(q, *nxt(), enable_gqa=True)  # noqa: E731
            times[name] = timed(fn, reps, rounds, gpu_only)
    return times


def l2_copies(one_bytes, warm):
    """How many copies of a cache of one_bytes (int8) the timing cycles through."""
    if warm:
        return 1
    l2 = getattr(torch.cuda.get_device_properties(torch.cuda.current_device()), "L2_cache_size", 50 << 20)
    return max(1, min(8, -(-2 * l2 // one_bytes)))


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--batches", default="1,8,64")
    ap.add_argument("--lens", default="4096,16384,32768,131072")
    ap.add_argument("--max-tokens", type=int, default=1 << 21)
    ap.add_argument("--page-size", type=int, default=128)
    ap.add_argument("--reps", type=int, default=20)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--contiguous", action="store_true")
    ap.add_argument("--no-fp16", action="store_true", help="intfa alone (no SDPA baseline)")
    ap.add_argument("--warm-l2", action="store_true", help="time one copy of each cache (K/V may stay in L2)")
    ap.add_argument("--json")
    args = ap.parse_args()
    import warnings
    warnings.filterwarnings("ignore", category=UserWarning)  # SDPA's "kernel not used" notes
    if not torch.cuda.is_available():
        print("SKIP: bench_decode needs a GPU")
        sys.exit(77)
    L, abi, ctx = intfa_lib()
    copy_bw = copy_bandwidth(args.reps)
    print("# %s | copy bandwidth %.0f GB/s (read+write) | H_q %d, H_kv %d, head_dim %d, page %d, fp16"
          % (torch.cuda.get_device_name(), copy_bw, HQ, HKV, D, args.page_size))
    print("GPU time (ms, a sleep kernel ahead hides the host); 'call' columns: back-to-back calls "
          "with their host work; %s" % ("one cache (warm L2)" if args.warm_l2 else
                                        "cycling through copies of the cache that hold 2x the L2"))
    print("%5s %7s | %9s %7s %5s %9s | %9s %7s %-22s %9s | %7s | %8s" % (
        "B", "N_kv", "intfa ms", "GB/s", "%copy", "call ms", "fp16 ms", "GB/s", "fastest fp16",
        "call ms", "speedup", "rel_l2"))
    rows = []
    for b in [int(x) for x in args.batches.split(",")]:
        for n in [int(x) for x in args.lens.split(",")]:
            if b * n > args.max_tokens:
                continue
            layouts = [True, False] if args.contiguous else [True]
            for shuffled in layouts:
                cache = Cache(L, abi, ctx, b, n, args.page_size, shuffled)
                copies = [cache] + [Cache(L, abi, ctx, b, n, args.page_size, shuffled)
                                    for _ in range(l2_copies(cache.int8_bytes(), args.warm_l2) - 1)]
                q = torch.randn(b, 1, HQ, D, dtype=torch.float16, device="cuda")
                out = torch.empty_like(q)
                nxt = itertools.cycle(copies).__next__
                ms = timed(lambda: nxt().attention(q, out), args.reps, args.rounds)
                call_ms = timed(lambda: nxt().attention(q, out), args.reps, args.rounds, False)
                cache.attention(q, out)  # the output compared below: this copy's
                bw = cache.int8_bytes() / ms * 1e-6
                row = {"batch": b, "n_kv": n, "paged": shuffled, "intfa_ms": ms, "intfa_gbs": bw,
                       "intfa_call_ms": call_ms, "copy_gbs": copy_bw, "copies": len(copies)}
                if shuffled and args.no_fp16:
                    print("%5d %7d | %9.4f %7.0f %4.0f%% %9.4f |" % (b, n, ms, bw, 100 * bw / copy_bw, call_ms))
                elif shuffled:
                    qh = q.transpose(1, 2).contiguous()  # [B, HQ, 1, D]
                    cands = sdpa_candidates(qh, cache.k16, cache.v16)
                    kvs = [(c.k16, c.v16) for c in copies]
                    times = sdpa_times(cands, qh, kvs, args.reps, args.rounds, True)
                    best = min(times, key=times.get)
                    best_call = sdpa_times({best: cands[best]}, qh, kvs, args.reps, args.rounds, False)[best]
                    row["best_call_ms"] = best_call
                    ref = cands[best][0]().float()
                    got = out.transpose(1, 2).float()
                    rel = ((got - ref).norm() / ref.norm()).item()
                    fbytes = b * n * HKV * D * 2 * 2
                    row.update({"fp16_ms": times, "best": best, "best_ms": times[best],
                                "fp16_gbs": fbytes / times[best] * 1e-6, "speedup": times[best] / ms,
                                "rel_l2_vs_sdpa": rel})
                    print("%5d %7d | %9.4f %7.0f %4.0f%% %9.4f | %9.4f %7.0f %-22s %9.4f | %6.2fx | %8.2e" % (
                        b, n, ms, bw, 100 * bw / copy_bw, call_ms, times[best], row["fp16_gbs"], best,
                        best_call, row["speedup"], rel))
                else:
                    paged = [r for r in rows if r["batch"] == b and r["n_kv"] == n and r["paged"]][0]
                    print("%5d %7d | %9.4f %7.0f %4.0f%% | contiguous pages: paged / contiguous = %.3f" % (
                        b, n, ms, bw, 100 * bw / copy_bw, paged["intfa_ms"] / ms))
                rows.append(row)
                del cache, copies, nxt
                torch.cuda.empty_cache()
    if args.json:
        with open(args.json, "w") as f:
            json.dump({"device": torch.cuda.get_device_name(), "copy_gbs": copy_bw,
                       "page_size": args.page_size, "rows": rows}, f, indent=1)


if __name__ == "__main__":
    main()
