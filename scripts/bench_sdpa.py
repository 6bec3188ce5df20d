#!/usr/bin/env python3
"""bench_sdpa.py - PyTorch SDPA (FP16, flash and cuDNN backends) beside intfa, in one process.

Times, on intfa-bench's sweep (H = 32, B*N = 16k tokens, N = 1k..32k, head_dim 64 and 128,
causal off and on) and with the same method (CUDA events, warm-up, median, inputs rotated
through enough sets to exceed twice the L2 cache):
  sdpa-flash   torch SDPA, SDPBackend.FLASH_ATTENTION (FlashAttention-2)
  sdpa-cudnn   torch SDPA, SDPBackend.CUDNN_ATTENTION
  fp16         intfa's FP16 baseline kernel (intfa_baseline_fp16_attention)
  int8         intfa's INT8 attention on quantized inputs (intfa_attention_int8)
  int8+quant   intfa's drop-in: quantization + INT8 attention (intfa_attention)
  pf16         INT8 Q/K with 16-bit P.V on quantized Q/K (intfa_attention_int8_qk; sm_90a)
  pf16+quant   its drop-in (intfa_attention, p_quant INTFA_PQ_F16: K quantized, V as given)
intfa runs from build/libintfa-jit.so through ctypes, on torch's tensors and current stream.
Prints a table with the ratios intfa/SDPA-flash, intfa/cuDNN and intfa/own-FP16, checks every
output against SDPA-flash's (relative L2), and writes CSV (intfa-bench's columns) and JSON.

usage: bench_sdpa.py [--lib build/libintfa-jit.so] [--sweep default|tiny] [--hd 64|128|all]
                     [--n N,...] [--causal 0|1|both] [--reps R] [--warmup W] [--csv FILE]
                     [--json FILE] [--label TEXT]
Exits 77 where torch or a GPU is missing. libintfa-jit.so needs liblua5.4.so.0: put build/ on
LD_LIBRARY_PATH.
"""
import argparse
import ctypes as C
import datetime
import json
import math
import os
import statistics
import sys

KERNELS = ["sdpa-flash", "sdpa-cudnn", "fp16", "int8", "int8+quant", "pf16", "pf16+quant"]
# intfa-bench's columns, but the last is checked against SDPA flash's output (not our fp16's)
CSV_HEADER = "kernel,batch,heads,seq,head_dim,causal,ms,tops,speedup_vs_fp16,rel_l2_vs_sdpa_flash"
MAX_SETS = 256
CHECK_MAX = 0.1  # an intfa output further from SDPA flash's (rel L2) counts as a failure


# ------------------------------------------------------------------ the sweep (as intfa-bench)

def sweep(args):
    if args.sweep == "default":
        seqs, heads, tokens = [1024 << i for i in range(6)], 32, 16384
    else:
        seqs, heads, tokens = [256, 512], 4, 1024
    if args.n:
        seqs = [int(x) for x in args.n.split(",")]
    hds = [64, 128] if args.hd == "all" else [int(args.hd)]
    causals = [0, 1] if args.causal == "both" else [int(args.causal)]
    return [dict(batch=max(1, tokens // n), heads=heads, seq=n, head_dim=d, causal=c)
            for d in hds for c in causals for n in seqs]


def attn_ops(cfg):
    ops = 4.0 * cfg["batch"] * cfg["heads"] * cfg["seq"] ** 2 * cfg["head_dim"]
    return ops / 2 if cfg["causal"] else ops


def input_sets(l2_bytes, set_bytes):
    n = -(-2 * l2_bytes // set_bytes) + 1 if set_bytes > 0 else MAX_SETS
    return max(2, min(MAX_SETS, n))


# ------------------------------------------------------------------ libintfa-jit through ctypes

# The struct mirrors and C signatures are the Python package's (python/intfa/_abi.py), which
# tests/test_python_abi.sh checks against include/intfa.h in CI.
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
from intfa._abi import BASELINE_SIGNATURES, SIGNATURES, QK8, V8, Problem, Tensor, bind  # noqa: E402


class Intfa:
    """The few entry points the benchmark calls; every failure raises with intfa's message."""

    def __init__(self, path):
        lib = bind(C.CDLL(path), {**SIGNATURES, **BASELINE_SIGNATURES})
        self.lib = lib
        self.ctx = C.c_void_p()
        self.check(lib.intfa_create(C.byref(self.ctx), 0), "intfa_create")

    def check(self, status, what):
        if status != 0:
            raise RuntimeError("%s: %s: %s" % (what, self.lib.intfa_status_string(status).decode(),
                                               self.lib.intfa_last_error().decode()))

    def close(self):
        self.lib.intfa_destroy(self.ctx)


def bnhd(t):
    """intfa_tensor of a [B, N, H, D] torch tensor (D contiguous)."""
    s = t.stride()
    return Tensor(t.data_ptr(), s[0], s[1], s[2])


def bhnd(t, n, h, d):
    """intfa_tensor of dense [B, H, N, D] storage."""
    return Tensor(t.data_ptr(), h * n * d, d, n * d)


# ------------------------------------------------------------------ one configuration

class Config:
    def __init__(self, torch, fa, cfg, l2):
        self.torch, self.fa, self.cfg = torch, fa, cfg
        B, H, N, D = cfg["batch"], cfg["heads"], cfg["seq"], cfg["head_dim"]
        self.prob = Problem(B, H, H, N, N, D, 0.0, cfg["causal"], 0, 0, 0)
        self.prob16 = Problem(B, H, H, N, N, D, 0.0, cfg["causal"], 0, 2, 0)  # INTFA_PQ_F16
        self.npad = fa.lib.intfa_v_padded_len(N)
        nsets = input_sets(l2, 3 * B * N * H * D)
        dev = "cuda"
        self.sets = []
        for _ in range(nsets):
            q, k, v = (torch.randn(B, N, H, D, device=dev, dtype=torch.float16) for _ in range(3))
            q8 = torch.empty(B, H, N, D, device=dev, dtype=torch.int8)
            k8 = torch.empty_like(q8)
            v8 = torch.empty(B, H, D, self.npad, device=dev, dtype=torch.int8)
            qs, ks = (torch.empty(B, H, N, device=dev, dtype=torch.float32) for _ in range(2))
            vs = torch.empty(B, H, D, device=dev, dtype=torch.float32)
            self.sets.append(dict(q=q, k=k, v=v, q8=q8, k8=k8, v8=v8, qs=qs, ks=ks, vs=vs))
        self.out = torch.empty(B, N, H, D, device=dev, dtype=torch.float16)
        self.stream = C.c_void_p(torch.cuda.current_stream().cuda_stream)
        for i in range(nsets):
            self.quantize(i)

    def quantize(self, i):
        s, c, fa, st = self.sets[i], self.cfg, self.fa, self.stream
        B, H, N, D = c["batch"], c["heads"], c["seq"], c["head_dim"]
        for x, x8, xs in (("q", "q8", "qs"), ("k", "k8", "ks")):
            fa.check(fa.lib.intfa_quantize_qk(fa.ctx, C.byref(bnhd(s[x])), 0, B, H, N, D,
                                              s[x8].data_ptr(), s[xs].data_ptr(), st), "quantize_qk")
        fa.check(fa.lib.intfa_quantize_v(fa.ctx, C.byref(bnhd(s["v"])), 0, B, H, N, D, 0,
                                         s["v8"].data_ptr(), s["vs"].data_ptr(), st), "quantize_v")

    def sdpa(self, i):
        s, F = self.sets[i], self.torch.nn.functional
        o = F.scaled_dot_product_attention(s["q"].transpose(1, 2), s["k"].transpose(1, 2),
                                           s["v"].transpose(1, 2), is_causal=bool(self.cfg["causal"]))
        return o.transpose(1, 2)

    def fp16(self, i):
        s, fa = self.sets[i], self.fa
        fa.check(fa.lib.intfa_baseline_fp16_attention(
            fa.ctx, C.byref(self.prob), C.byref(bnhd(s["q"])), C.byref(bnhd(s["k"])),
            C.byref(bnhd(s["v"])), C.byref(bnhd(self.out)), None, self.stream), "fp16 baseline")
        return self.out

    def int8(self, i):
        s, c, fa = self.sets[i], self.cfg, self.fa
        H, N, D = c["heads"], c["seq"], c["head_dim"]
        q = QK8(bhnd(s["q8"], N, H, D), s["qs"].data_ptr())
        k = QK8(bhnd(s["k8"], N, H, D), s["ks"].data_ptr())
        v = V8(s["v8"].data_ptr(), s["vs"].data_ptr())
        fa.check(fa.lib.intfa_attention_int8(fa.ctx, C.byref(self.prob), C.byref(q), C.byref(k),
                                             C.byref(v), C.byref(bnhd(self.out)), None, self.stream),
                 "intfa_attention_int8")
        return self.out

    def dropin(self, i, prob=None):
        s, fa = self.sets[i], self.fa
        fa.check(fa.lib.intfa_attention(fa.ctx, C.byref(prob or self.prob), C.byref(bnhd(s["q"])),
                                        C.byref(bnhd(s["k"])), C.byref(bnhd(s["v"])),
                                        C.byref(bnhd(self.out)), None, None, 0, self.stream),
                 "intfa_attention")
        return self.out

    def pf16(self, i):
        s, c, fa = self.sets[i], self.cfg, self.fa
        H, N, D = c["heads"], c["seq"], c["head_dim"]
        q = QK8(bhnd(s["q8"], N, H, D), s["qs"].data_ptr())
        k = QK8(bhnd(s["k8"], N, H, D), s["ks"].data_ptr())
        fa.check(fa.lib.intfa_attention_int8_qk(fa.ctx, C.byref(self.prob16), C.byref(q), C.byref(k),
                                                C.byref(bnhd(s["v"])), C.byref(bnhd(self.out)), None,
                                                self.stream), "intfa_attention_int8_qk")
        return self.out

    def pf16_dropin(self, i):
        return self.dropin(i, self.prob16)

    def time(self, fn, reps, warmup):
        torch, n = self.torch, len(self.sets)
        for i in range(warmup):
            fn(i % n)
        ev = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
              for _ in range(reps)]
        for r, (e0, e1) in enumerate(ev):
            e0.record()
            fn((warmup + r) % n)
            e1.record()
        torch.cuda.synchronize()
        return statistics.median(e0.elapsed_time(e1) for e0, e1 in ev)


def rel_l2(x, ref):
    x, ref = x.float(), ref.float()
    return ((x - ref).norm() / ref.norm()).item()


def measure(torch, fa, cfg, l2, reps, warmup):
    from torch.nn.attention import sdpa_kernel, SDPBackend
    conf = Config(torch, fa, cfg, l2)
    backends = {"sdpa-flash": SDPBackend.FLASH_ATTENTION, "sdpa-cudnn": SDPBackend.CUDNN_ATTENTION}
    fns = {"fp16": conf.fp16, "int8": conf.int8, "int8+quant": conf.dropin, "pf16": conf.pf16,
           "pf16+quant": conf.pf16_dropin}
    ref, res = None, {}
    for name in KERNELS:
        ms, err, why = math.nan, math.nan, None
        try:
            if name in backends:
                with sdpa_kernel(backends[name]):
                    out = conf.sdpa(0).clone()
                    ms = conf.time(conf.sdpa, reps, warmup)
            else:
                out = fns[name](0).clone()
                ms = conf.time(fns[name], reps, warmup)
            torch.cuda.synchronize()
            if ref is None and name == "sdpa-flash":
                ref = out
            err = rel_l2(out, ref) if ref is not None else math.nan
        except RuntimeError as e:
            why = str(e).splitlines()[0][:200]
        res[name] = dict(ms=ms, check=err, error=why)
    del conf
    torch.cuda.empty_cache()
    return res


# ------------------------------------------------------------------ output

def fmt(x, spec):
    return "-" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def ratio(a, b):
    return a / b if a and b and not (math.isnan(a) or math.isnan(b)) else math.nan


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lib", default="build/libintfa-jit.so")
    ap.add_argument("--sweep", choices=["default", "tiny"], default="default")
    ap.add_argument("--hd", choices=["64", "128", "all"], default="all")
    ap.add_argument("--n", default=None)
    ap.add_argument("--causal", choices=["0", "1", "both"], default="both")
    ap.add_argument("--reps", type=int, default=30)
    ap.add_argument("--warmup", type=int, default=5)
    ap.add_argument("--csv")
    ap.add_argument("--json")
    ap.add_argument("--label")
    args = ap.parse_args()
    try:
        import torch
    except ImportError:
        print("SKIP: bench_sdpa.py needs PyTorch")
        return 77
    if not torch.cuda.is_available():
        print("SKIP: bench_sdpa.py needs a GPU")
        return 77
    torch.manual_seed(0)
    torch.empty(1, device="cuda")  # the primary context, which intfa shares
    fa = Intfa(args.lib)
    props = torch.cuda.get_device_properties(0)
    l2 = getattr(props, "L2_cache_size", 64 << 20)
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    print("bench_sdpa.py: %s, torch %s, cuDNN %s, L2 %.1f MB, %s; median of %d after %d warm-up" %
          (props.name, torch.__version__, torch.backends.cudnn.version(), l2 / 1e6, date, args.reps,
           args.warmup))
    hopper = torch.cuda.get_device_capability(0) == (9, 0)  # pf16 runs on sm_90a only
    print("%6s %4s %3s %6s | %8s %8s %8s | %8s %8s | %7s %7s %7s | %7s %7s | %8s %8s | %8s %8s %8s" % (
        "N", "B", "hd", "mask", "flash", "cudnn", "fp16", "int8", "drop-in", "/flash", "/cudnn",
        "/fp16", "dr/fla", "dr/cud", "err int8", "err fp16", "pf16", "pf16 dr", "err pf16"))
    rows, failures = [], 0
    for cfg in sweep(args):
        res = measure(torch, fa, cfg, l2, args.reps, args.warmup)
        ops = attn_ops(cfg)
        for name in KERNELS:
            r = res[name]
            r["tops"] = ops / r["ms"] * 1e-9 if r["ms"] == r["ms"] else math.nan
            if r["error"]:
                # cuDNN may not serve every shape; pf16 needs sm_90a
                failures += name != "sdpa-cudnn" and (hopper or not name.startswith("pf16"))
                print("  %s N=%d hd=%d causal=%d: %s" % (name, cfg["seq"], cfg["head_dim"],
                                                         cfg["causal"], r["error"]))
        for name in ("fp16", "int8", "int8+quant", "pf16", "pf16+quant"):  # outputs against SDPA flash's
            err = res[name]["check"]
            if not res["sdpa-flash"]["error"] and not res[name]["error"] and not err < CHECK_MAX:
                failures += 1
                print("  %s N=%d hd=%d causal=%d: output %s SDPA flash's (rel L2 %s)" % (
                    name, cfg["seq"], cfg["head_dim"], cfg["causal"],
                    "not comparable with" if err != err else "far from", fmt(err, ".2e")))
        t = {k: res[k]["tops"] for k in KERNELS}
        print("%6d %4d %3d %6s | %8s %8s %8s | %8s %8s | %7s %7s %7s | %7s %7s | %8s %8s | %8s %8s %8s" % (
            cfg["seq"], cfg["batch"], cfg["head_dim"], "causal" if cfg["causal"] else "full",
            fmt(t["sdpa-flash"], ".1f"), fmt(t["sdpa-cudnn"], ".1f"), fmt(t["fp16"], ".1f"),
            fmt(t["int8"], ".1f"), fmt(t["int8+quant"], ".1f"),
            fmt(ratio(t["int8"], t["sdpa-flash"]), ".2f"), fmt(ratio(t["int8"], t["sdpa-cudnn"]), ".2f"),
            fmt(ratio(t["int8"], t["fp16"]), ".2f"), fmt(ratio(t["int8+quant"], t["sdpa-flash"]), ".2f"),
            fmt(ratio(t["int8+quant"], t["sdpa-cudnn"]), ".2f"), fmt(res["int8"]["check"], ".1e"),
            fmt(res["fp16"]["check"], ".1e"), fmt(t["pf16"], ".1f"), fmt(t["pf16+quant"], ".1f"),
            fmt(res["pf16"]["check"], ".1e")), flush=True)
        base = res["fp16"]["ms"]
        for name in KERNELS:
            r = res[name]
            rows.append(dict(kernel=name, **cfg, ms=r["ms"], tops=r["tops"],
                             speedup_vs_fp16=ratio(base, r["ms"]), rel_l2_vs_sdpa_flash=r["check"],
                             error=r["error"]))
    print("TOPS (TFLOPS for fp16): 4*B*H*N^2*D / time, half when causal. /flash, /cudnn, /fp16: "
          "int8 kernel over SDPA flash, SDPA cuDNN, our FP16 kernel; dr/: the drop-in (with "
          "quantization). err: rel L2 of the output against SDPA flash's on the same inputs. pf16: "
          "INT8 Q/K with 16-bit P.V (kernel, drop-in), sm_90a only.")
    if args.csv:
        with open(args.csv, "w") as f:
            f.write(CSV_HEADER + "\n")
            num = lambda x, s: "" if x is None or x != x else format(x, s)
            for r in rows:
                f.write("%s,%d,%d,%d,%d,%d,%s,%s,%s,%s\n" % (
                    r["kernel"], r["batch"], r["heads"], r["seq"], r["head_dim"], r["causal"],
                    num(r["ms"], ".6f"), num(r["tops"], ".2f"), num(r["speedup_vs_fp16"], ".4f"),
                    num(r["rel_l2_vs_sdpa_flash"], ".3e")))
    if args.json:
        clean = lambda x: None if isinstance(x, float) and x != x else x
        doc = dict(tool="bench_sdpa.py", device=props.name, torch=torch.__version__,
                   cudnn=torch.backends.cudnn.version(), l2_bytes=l2, date=date, sweep=args.sweep,
                   label=args.label, reps=args.reps, warmup=args.warmup,
                   note="rel_l2_vs_sdpa_flash: output against SDPA flash's on the same inputs",
                   speed=[{k: clean(v) for k, v in r.items()} for r in rows])
        with open(args.json, "w") as f:
            json.dump(doc, f, indent=1)
    fa.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
