#!/usr/bin/env python3
"""bench_peers.py - intfa beside the attention kernels a user could pick instead, in one process.

For each row (a shape, causal or not) it times, on the same fp16 N(0, 1) inputs [B, N, H, D]:
  intfa-int8    intfa's INT8 kernel alone on inputs quantized once beforehand
                (intfa.quantize_qk, intfa.quantize_v, then intfa.attention_int8 per call)
  intfa-dropin  intfa's drop-in, fp16 in and out: quantization + INT8 attention (intfa.attention,
                its defaults: K smoothing on)
  sdpa-cudnn    torch SDPA, fp16, SDPBackend.CUDNN_ATTENTION
  sdpa-flash    torch SDPA, fp16, SDPBackend.FLASH_ATTENTION (FlashAttention-2)
  fa4           FlashAttention-4's CuTe kernels, fp16 (from flash_attn.cute import flash_attn_func)
  sage2         SageAttention 2, INT8 Q/K and FP8 P.V, its quantization included
                (from sageattention import sageattn_qk_int8_pv_fp8_cuda_sm90)
A peer that does not import is skipped with a line saying why; a peer that raises on a shape is
"n/a" in that row, with its reason below the table. Nothing a peer does stops the run.

Timing: CUDA events around each call, a sleep kernel queued first so that the host's launch work
stays ahead of the GPU, --warmup untimed calls (they also take the JIT compiles out), then the
median of --reps (>= 20) timed calls; inputs rotate through as many sets as needed to exceed
twice the L2 cache. Rate: ops = 4*B*H*Nq*Nkv*D, half when causal, over the median time (TOPS for
the INT8 kernels, TFLOPS for the FP16 ones). Ratios: intfa kernel / best FP16 and drop-in /
best FP16, where best FP16 is the fastest of sdpa-cudnn, sdpa-flash and fa4 in that row.
Accuracy: every method's output on the first input set against fp32 attention on a small slice
(batch 0, 2 heads, the last 256 query rows, all keys): relative L2.

The varlen rows time intfa.attention_varlen on S sequences of equal length packed along the
token axis against the batched intfa.attention of the same [S, N, H, D] shape (issue 16's target:
within 5% of the batched call), and compare the two outputs.

Writes OUT/peers.csv, OUT/peers_varlen.csv and OUT/peers.md (the markdown tables, also printed).
Exit codes: 0; 1 when an intfa call failed or was far from the fp32 reference (the run goes on);
2 for a bad argument; 77 with "SKIP: ..." where torch or a CUDA GPU is missing.

usage: PYTHONPATH=python INTFA_LIBRARY=build/libintfa-jit.so.0.1.0 LD_LIBRARY_PATH=build \\
       python3 scripts/bench_peers.py [--rows default|quick] [--out DIR] [--lib PATH]
       [--reps 30] [--warmup 5] [--skip fa4,sage2,...]
"""
import argparse
import csv
import datetime
import math
import os
import statistics
import sys

METHODS = ["intfa-int8", "intfa-dropin", "sdpa-cudnn", "sdpa-flash", "fa4", "sage2"]
FP16 = ("sdpa-cudnn", "sdpa-flash", "fa4")       # the FP16 peers "best FP16" is taken over
INTFA = ("intfa-int8", "intfa-dropin")
LABEL = {"intfa-int8": "intfa kernel", "intfa-dropin": "intfa drop-in", "sdpa-cudnn": "cuDNN",
         "sdpa-flash": "SDPA flash", "fa4": "FA4", "sage2": "Sage2"}
CHECK_ROWS, CHECK_HEADS = 256, 2
INTFA_MAX_ERR = 0.1     # an intfa output further than this from fp32 (rel L2) counts as a failure
VARLEN_TARGET = 1.05    # varlen time / batched time, issue 16


# ------------------------------------------------------------------ rows

def rows(kind):
    """(attention rows, varlen rows). Attention: dict(batch, heads, seq, head_dim, causal);
    varlen: dict(seqs, heads, seq, head_dim, causal), every sequence seq tokens long."""
    if kind == "dims":   # issue 16's rows: the other head dims beside hd128, varlen of equal lengths
        att = [dict(batch=1, heads=32, seq=16384, head_dim=d, causal=0) for d in (96, 128, 256)]
        return att, [dict(seqs=8, heads=32, seq=2048, head_dim=128, causal=0)]
    if kind == "quick":
        att = [dict(batch=2, heads=4, seq=512, head_dim=d, causal=c) for d in (64, 96) for c in (0, 1)]
        att.append(dict(batch=2, heads=4, seq=512, head_dim=256, causal=0))
        return att, [dict(seqs=4, heads=4, seq=256, head_dim=128, causal=c) for c in (0, 1)]
    att = [dict(batch=1, heads=32, seq=16384, head_dim=d, causal=c)
           for d in (64, 96, 128, 256) for c in (0, 1)]
    att += [dict(batch=16, heads=32, seq=1024, head_dim=128, causal=c) for c in (0, 1)]
    return att, [dict(seqs=8, heads=32, seq=2048, head_dim=128, causal=c) for c in (0, 1)]


def attn_ops(batch, heads, seq_q, seq_kv, head_dim, causal):
    ops = 4.0 * batch * heads * seq_q * seq_kv * head_dim
    return ops / 2 if causal else ops


def shape_text(r):
    n = r["seq"]
    return "hd%d N=%s B=%d H=%d %s" % (r["head_dim"], "%dk" % (n // 1024) if n % 1024 == 0 else n,
                                     r.get("batch", r.get("seqs")), r["heads"],
                                     "causal" if r["causal"] else "full")


# ------------------------------------------------------------------ peers

def load_peers(skip):
    """{name: callable(q, k, v, causal) -> out [B, N, H, D]} for the optional peers that import,
    and {name: why not} for the others."""
    found, missing = {}, {}
    if "fa4" in skip:
        missing["fa4"] = "--skip"
    else:
        try:
            from flash_attn.cute import flash_attn_func

            def fa4(q, k, v, causal):
                out = flash_attn_func(q, k, v, causal=bool(causal))
                return out[0] if isinstance(out, (tuple, list)) else out
            found["fa4"] = fa4
        except Exception as e:  # noqa: BLE001 - any import failure only skips the peer
            missing["fa4"] = "from flash_attn.cute import flash_attn_func: %s: %s" % (type(e).__name__, e)
    if "sage2" in skip:
        missing["sage2"] = "--skip"
    else:
        try:
            from sageattention import sageattn_qk_int8_pv_fp8_cuda_sm90

            def sage2(q, k, v, causal):
                out = sageattn_qk_int8_pv_fp8_cuda_sm90(q, k, v, tensor_layout="NHD", is_causal=bool(causal))
                return out[0] if isinstance(out, (tuple, list)) else out
            found["sage2"] = sage2
        except Exception as e:  # noqa: BLE001
            missing["sage2"] = ("from sageattention import sageattn_qk_int8_pv_fp8_cuda_sm90: %s: %s"
                                % (type(e).__name__, e))
    return found, missing


def first_line(e):
    text = ("%s: %s" % (type(e).__name__, e)).strip().splitlines()
    return (text[0] if text else type(e).__name__)[:240]


# ------------------------------------------------------------------ measuring

class Bench:
    def __init__(self, torch, intfa, peers, reps, warmup, l2):
        self.torch, self.intfa, self.peers = torch, intfa, peers
        self.reps, self.warmup, self.l2 = reps, warmup, l2
        self.sleep = getattr(torch.cuda, "_sleep", None)

    def input_sets(self, B, N, H, D):
        """fp16 [B, N, H, D] (q, k, v) sets: at least 2, and as many as the timed and warm-up
        calls use, up to what makes their int8 copies exceed twice the L2 cache together (so
        that no call finds its inputs in L2)."""
        n = max(2, min(self.warmup + self.reps, -(-2 * self.l2 // (3 * B * N * H * D)) + 1))
        rand = lambda: self.torch.randn(B, N, H, D, device="cuda", dtype=self.torch.float16)
        return [(rand(), rand(), rand()) for _ in range(n)]

    def time(self, fn, nsets):
        """Median ms of self.reps timed calls fn(set index) after self.warmup untimed ones."""
        torch = self.torch
        for i in range(self.warmup):
            fn(i % nsets)
        torch.cuda.synchronize()
        ev = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True))
              for _ in range(self.reps)]
        if self.sleep is not None:
            self.sleep(20_000_000)   # ~10 ms of GPU time for the host to get ahead
        for r, (e0, e1) in enumerate(ev):
            e0.record()
            fn((self.warmup + r) % nsets)
            e1.record()
        torch.cuda.synchronize()
        return statistics.median(e0.elapsed_time(e1) for e0, e1 in ev)

    def reference(self, q, k, v, causal):
        """fp32 attention of batch 0, the first CHECK_HEADS heads and the last CHECK_ROWS query
        rows over all keys (bottom-right causal, which is top-left for N_q == N_kv)."""
        torch = self.torch
        nq, nkv, h = q.shape[1], k.shape[1], min(CHECK_HEADS, q.shape[2])
        r0 = max(0, nq - CHECK_ROWS)
        qs = q[0, r0:, :h].transpose(0, 1).float()          # [h, rows, D]
        ks, vs = (x[0, :, :h].transpose(0, 1).float() for x in (k, v))
        s = qs @ ks.transpose(-1, -2) / math.sqrt(q.shape[-1])
        if causal:
            i = torch.arange(r0, nq, device=q.device)[:, None] + (nkv - nq)
            s = s.masked_fill(torch.arange(nkv, device=q.device)[None, :] > i, float("-inf"))
        return torch.softmax(s, -1) @ vs, (r0, h)

    @staticmethod
    def rel_l2(out, ref, where):
        r0, h = where
        x = out[0, r0:, :h].transpose(0, 1).float()
        return ((x - ref).norm() / ref.norm()).item()

    def methods(self, sets, causal):
        """{name: fn(set index) -> out [B, N, H, D]} for this row's inputs; the quantized sets
        for the INT8 kernel are made here (once)."""
        torch, intfa = self.torch, self.intfa
        F = torch.nn.functional
        from torch.nn.attention import SDPBackend, sdpa_kernel
        fns = {}
        quantized = []

        def int8(i):
            if not quantized:   # quantize every set once, outside the timed calls
                for q, k, v in sets:
                    quantized.append(intfa.quantize_qk(q) + intfa.quantize_qk(k) + intfa.quantize_v(v))
                torch.cuda.synchronize()
            return intfa.attention_int8(*quantized[i], causal=causal)
        fns["intfa-int8"] = int8
        fns["intfa-dropin"] = lambda i: intfa.attention(*sets[i], causal=causal)

        def sdpa(backend):
            def run(i):
                q, k, v = (x.transpose(1, 2) for x in sets[i])
                with sdpa_kernel(backend):
                    return F.scaled_dot_product_attention(q, k, v, is_causal=bool(causal)).transpose(1, 2)
            return run
        fns["sdpa-cudnn"] = sdpa(SDPBackend.CUDNN_ATTENTION)
        fns["sdpa-flash"] = sdpa(SDPBackend.FLASH_ATTENTION)
        for name, peer in self.peers.items():
            fns[name] = (lambda p: lambda i: p(*sets[i], causal))(peer)
        return fns

    def row(self, r, want):
        """{method: dict(ms, tops, err, why)} of one attention row."""
        torch = self.torch
        B, H, N, D, causal = r["batch"], r["heads"], r["seq"], r["head_dim"], r["causal"]
        ops = attn_ops(B, H, N, N, D, causal)
        sets = self.input_sets(B, N, H, D)
        ref, where = self.reference(*sets[0], causal)
        fns = self.methods(sets, causal)
        res = {}
        for name in want:
            if name not in fns:
                continue
            ms = tops = err = math.nan
            why = None
            try:
                out = fns[name](0)
                torch.cuda.synchronize()
                if tuple(out.shape) != (B, N, H, D):
                    raise RuntimeError("output shape %s, expected %s" % (tuple(out.shape), (B, N, H, D)))
                err = self.rel_l2(out, ref, where)
                del out
                ms = self.time(fns[name], len(sets))
                tops = ops / ms * 1e-9
            except Exception as e:  # noqa: BLE001 - a peer's failure is reported, never fatal
                why = first_line(e)
            res[name] = dict(ms=ms, tops=tops, err=err, why=why)
            self.healthy()
        del sets, fns
        torch.cuda.empty_cache()
        return res

    def varlen(self, r):
        """dict(varlen_ms, batched_ms, ratio, max_abs_diff, why) of one varlen row."""
        torch, intfa = self.torch, self.intfa
        S, H, N, D, causal = r["seqs"], r["heads"], r["seq"], r["head_dim"], r["causal"]
        sets = self.input_sets(S, N, H, D)
        cu = torch.arange(0, (S + 1) * N, N, dtype=torch.int32)   # CPU counts: no sync per call
        batched = lambda i: intfa.attention(*sets[i], causal=causal)
        packed = lambda i: intfa.attention_varlen(*(x.view(S * N, H, D) for x in sets[i]), cu, cu,
                                                  causal=causal)
        res = dict(varlen_ms=math.nan, batched_ms=math.nan, ratio=math.nan, max_abs_diff=math.nan,
                   why=None)
        try:
            a, b = batched(0), packed(0)
            res["max_abs_diff"] = (a.view(S * N, H, D).float() - b.float()).abs().max().item()
            del a, b
            res["batched_ms"] = self.time(batched, len(sets))
            res["varlen_ms"] = self.time(packed, len(sets))
            res["ratio"] = res["varlen_ms"] / res["batched_ms"]
        except Exception as e:  # noqa: BLE001
            res["why"] = first_line(e)
        self.healthy()
        del sets
        torch.cuda.empty_cache()
        return res

    def healthy(self):
        """Raises ContextBroken where a failure left the CUDA context unusable (a sticky error):
        nothing later in this process could run."""
        try:
            self.torch.cuda.synchronize()
        except Exception as e:  # noqa: BLE001
            raise ContextBroken(first_line(e)) from e


class ContextBroken(Exception):
    pass


# ------------------------------------------------------------------ output

def fmt(x, spec):
    return "n/a" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, spec)


def best_fp16(res):
    """(name, TOPS) of the fastest FP16 peer in a row, or (None, nan)."""
    got = [(res[n]["tops"], n) for n in FP16 if n in res and not math.isnan(res[n]["tops"])]
    if not got:
        return None, math.nan
    tops, name = max(got)
    return name, tops


def ratio(a, b):
    return a / b if not (math.isnan(a) or math.isnan(b)) and b > 0 else math.nan


def markdown(header, results, vresults, missing):
    lines = [header, ""]
    cols = [LABEL[m] for m in METHODS]
    lines.append("| shape | " + " | ".join(cols) + " | best FP16 | kernel / best | drop-in / best "
                 "| err kernel | err drop-in |")
    lines.append("|---" * (len(cols) + 6) + "|")
    notes = []
    for r, res in results:
        cells = []
        for m in METHODS:
            x = res.get(m)
            if x is None:
                cells.append("skipped")
            else:
                cells.append(fmt(x["tops"], ".0f"))
                if x["why"]:
                    notes.append("- %s, %s: %s" % (LABEL[m], shape_text(r), x["why"]))
        name, tops = best_fp16(res)
        k = res.get("intfa-int8", {}).get("tops", math.nan)
        d = res.get("intfa-dropin", {}).get("tops", math.nan)
        lines.append("| %s | %s | %s | %s | %s | %s | %s |" % (
            shape_text(r), " | ".join(cells), "%s (%s)" % (fmt(tops, ".0f"), LABEL[name]) if name else "n/a",
            fmt(ratio(k, tops), ".2f"), fmt(ratio(d, tops), ".2f"),
            fmt(res.get("intfa-int8", {}).get("err", math.nan), ".1e"),
            fmt(res.get("intfa-dropin", {}).get("err", math.nan), ".1e")))
    lines += ["", "TOPS for intfa and Sage2 (8-bit), TFLOPS for cuDNN, SDPA flash and FA4 (fp16); "
              "ops = 4*B*H*N^2*D, half when causal, over the median time. err: relative L2 against "
              "fp32 attention on batch 0, %d heads, the last %d query rows." % (CHECK_HEADS, CHECK_ROWS)]
    if vresults:
        lines += ["", "| varlen (equal lengths) | varlen ms | batched ms | varlen / batched | "
                  "within 5% | max abs diff |", "|---|---|---|---|---|---|"]
        for r, v in vresults:
            ok = "n/a" if math.isnan(v["ratio"]) else ("yes" if v["ratio"] <= VARLEN_TARGET else "no")
            lines.append("| %d x %d tokens, H=%d hd%d %s | %s | %s | %s | %s | %s |" % (
                r["seqs"], r["seq"], r["heads"], r["head_dim"], "causal" if r["causal"] else "full",
                fmt(v["varlen_ms"], ".3f"), fmt(v["batched_ms"], ".3f"), fmt(v["ratio"], ".3f"), ok,
                fmt(v["max_abs_diff"], ".1e")))
            if v["why"]:
                notes.append("- varlen, %d x %d hd%d %s: %s" % (r["seqs"], r["seq"], r["head_dim"],
                                                              "causal" if r["causal"] else "full", v["why"]))
    if missing:
        lines += ["", "Skipped peers:"] + ["- %s: %s" % (LABEL[n], why) for n, why in missing.items()]
    if notes:
        lines += ["", "n/a:"] + notes
    return "\n".join(lines) + "\n"


def write_csv(path, results):
    head = ["batch", "heads", "seq_q", "seq_kv", "head_dim", "causal"]
    for m in METHODS:
        head += ["%s_ms" % m, "%s_tops" % m, "%s_rel_l2" % m]
    head += ["best_fp16", "best_fp16_tops", "kernel_over_best_fp16", "dropin_over_best_fp16", "notes"]
    num = lambda x, s: "" if x is None or (isinstance(x, float) and math.isnan(x)) else format(x, s)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(head)
        for r, res in results:
            line = [r["batch"], r["heads"], r["seq"], r["seq"], r["head_dim"], r["causal"]]
            notes = []
            for m in METHODS:
                x = res.get(m, dict(ms=math.nan, tops=math.nan, err=math.nan, why="skipped"))
                line += [num(x["ms"], ".4f"), num(x["tops"], ".1f"), num(x["err"], ".3e")]
                if x["why"]:
                    notes.append("%s: %s" % (m, x["why"]))
            name, tops = best_fp16(res)
            line += [name or "", num(tops, ".1f"),
                     num(ratio(res.get("intfa-int8", {}).get("tops", math.nan), tops), ".3f"),
                     num(ratio(res.get("intfa-dropin", {}).get("tops", math.nan), tops), ".3f"),
                     "; ".join(notes)]
            w.writerow(line)


def write_varlen_csv(path, vresults):
    num = lambda x, s: "" if isinstance(x, float) and math.isnan(x) else format(x, s)
    with open(path, "w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["seqs", "heads", "seq", "head_dim", "causal", "varlen_ms", "batched_ms",
                    "varlen_over_batched", "within_5pct", "max_abs_diff", "notes"])
        for r, v in vresults:
            w.writerow([r["seqs"], r["heads"], r["seq"], r["head_dim"], r["causal"],
                        num(v["varlen_ms"], ".4f"), num(v["batched_ms"], ".4f"), num(v["ratio"], ".4f"),
                        "" if math.isnan(v["ratio"]) else int(v["ratio"] <= VARLEN_TARGET),
                        num(v["max_abs_diff"], ".3e"), v["why"] or ""])


# ------------------------------------------------------------------ main

def parse_args(argv=None):
    ap = argparse.ArgumentParser(
        description=__doc__.splitlines()[0].split(" - ", 1)[1],
        epilog="Peers: FlashAttention-4 (flash_attn.cute) and SageAttention 2 are optional; see "
               "docs/BENCH.md for installing them on the GPU machine.")
    ap.add_argument("--rows", choices=["default", "quick", "dims"], default="default",
                    help="default: H 32, B*N = 16k, N = 16k, hd 64/96/128/256, causal off and on, "
                         "B 16 N 1k hd128, varlen 8 x 2048 hd128; dims: hd 96/128/256 full at 16k and the "
                         "varlen row; quick: tiny shapes (a smoke test)")
    ap.add_argument("--out", default="bench-peers", help="folder for peers.csv, peers_varlen.csv, peers.md")
    ap.add_argument("--lib", help="libintfa-jit to load (sets INTFA_LIBRARY; default: $INTFA_LIBRARY "
                                  "or the package's own)")
    ap.add_argument("--reps", type=int, default=30, help="timed calls per method (median; at least 20)")
    ap.add_argument("--warmup", type=int, default=5, help="untimed calls first (at least 1)")
    ap.add_argument("--skip", default="", help="comma-separated methods not to run: " + ", ".join(METHODS))
    ap.add_argument("--no-varlen", action="store_true", help="leave the varlen rows out")
    args = ap.parse_args(argv)
    if args.reps < 20:
        ap.error("--reps %d: at least 20 (the median of >= 20 timed calls)" % args.reps)
    if args.warmup < 1:
        ap.error("--warmup %d: at least 1 (the first call compiles)" % args.warmup)
    args.skip = {s.strip() for s in args.skip.split(",") if s.strip()}
    bad = args.skip - set(METHODS)
    if bad:
        ap.error("--skip %s: expected names among %s" % (",".join(sorted(bad)), ", ".join(METHODS)))
    return args


def main(argv=None):
    args = parse_args(argv)
    if args.lib:
        if not os.path.exists(args.lib):
            print("bench_peers.py: --lib %s: no such file" % args.lib, file=sys.stderr)
            return 2
        os.environ["INTFA_LIBRARY"] = os.path.abspath(args.lib)
    try:
        import torch
    except ImportError:
        print("SKIP: bench_peers.py needs PyTorch")
        return 77
    if not torch.cuda.is_available():
        print("SKIP: bench_peers.py needs a CUDA GPU (torch %s sees none)" % torch.__version__)
        return 77
    # the source tree's package (python/), as bench_sdpa.py
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
    import intfa
    torch.manual_seed(0)
    torch.empty(1, device="cuda")   # the primary context, which intfa shares
    props = torch.cuda.get_device_properties(0)
    l2 = getattr(props, "L2_cache_size", 64 << 20)
    try:
        libver = intfa.library_version()
    except Exception as e:  # noqa: BLE001 - without the library nothing of intfa runs
        print("bench_peers.py: cannot load libintfa-jit (%s): %s" % (intfa.library_path(), first_line(e)),
              file=sys.stderr)
        return 1
    peers, missing = load_peers(args.skip)
    for name, why in missing.items():
        print("bench_peers.py: %s skipped: %s" % (LABEL[name], why))
    missing.update({m: "--skip" for m in args.skip if m not in missing})
    want = [m for m in METHODS if m not in args.skip]
    date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = ("bench_peers.py on %s (sm_%d%d), %s; torch %s, cuDNN %s, intfa %s (%s); median of %d "
              "after %d warm-up calls; rows %s" % (
                  props.name, props.major, props.minor, date, torch.__version__,
                  torch.backends.cudnn.version(), libver, intfa.library_path(), args.reps,
                  args.warmup, args.rows))
    print(header, flush=True)
    bench = Bench(torch, intfa, peers, args.reps, args.warmup, l2)
    att, var = rows(args.rows)
    results, vresults, failed = [], [], 0
    try:
        for r in att:
            res = bench.row(r, want)
            results.append((r, res))
            print("  %-28s %s" % (shape_text(r), "  ".join(
                "%s %s" % (m, fmt(res[m]["tops"], ".0f")) for m in METHODS if m in res)), flush=True)
            for m in INTFA:
                x = res.get(m)
                if x and (x["why"] or not x["err"] < INTFA_MAX_ERR):
                    failed += 1
                    print("  %s %s: %s" % (m, shape_text(r),
                                           x["why"] or "rel L2 %s vs fp32" % fmt(x["err"], ".2e")))
        for r in ([] if args.no_varlen else var):
            v = bench.varlen(r)
            vresults.append((r, v))
            failed += v["why"] is not None
            print("  varlen %d x %d hd%d %s: varlen %s ms, batched %s ms, ratio %s%s" % (
                r["seqs"], r["seq"], r["head_dim"], "causal" if r["causal"] else "full",
                fmt(v["varlen_ms"], ".3f"), fmt(v["batched_ms"], ".3f"), fmt(v["ratio"], ".3f"),
                " (%s)" % v["why"] if v["why"] else ""), flush=True)
    except ContextBroken as e:
        failed += 1
        print("bench_peers.py: the CUDA context is unusable after a failure (%s): stopping; the rows "
              "measured so far are written" % e, file=sys.stderr)
    md = markdown(header, results, vresults, missing)
    print()
    print(md)
    os.makedirs(args.out, exist_ok=True)
    write_csv(os.path.join(args.out, "peers.csv"), results)
    write_varlen_csv(os.path.join(args.out, "peers_varlen.csv"), vresults)
    with open(os.path.join(args.out, "peers.md"), "w") as f:
        f.write(md)
    print("bench_peers.py: wrote %s/peers.csv, peers_varlen.csv, peers.md" % args.out)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
