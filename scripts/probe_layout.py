"""INT8 kernel time by input layout (quantized from bnhd or bhnd) and reuse (issue 13: bench_peers' N = 1k kernel row is
slower than intfa-perf's). Prints TOPS of intfa.attention_int8 for bnhd and bhnd inputs, one
input set reused or four cycled, at the given shapes.
usage: python3 scripts/probe_layout.py"""
import torch
import intfa


def tops(fn, sets, ops, reps=30):
    for i in range(5):
        fn(i % sets)
    torch.cuda.synchronize()
    ts = []
    for r in range(reps):
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record()
        fn(r % sets)
        b.record()
        b.synchronize()
        ts.append(a.elapsed_time(b))
    ts.sort()
    return ops / ts[len(ts) // 2] * 1e-9


def tops_queued(fn, sets, ops, reps=30):
    """As bench_peers times: a sleep kernel ahead, then reps calls back to back, each between
    its own events (the host's time per call hidden)."""
    for i in range(5):
        fn(i % sets)
    torch.cuda.synchronize()
    ev = [(torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)) for _ in range(reps)]
    torch.cuda._sleep(20_000_000)
    for r, (a, b) in enumerate(ev):
        a.record()
        fn(r % sets)
        b.record()
    torch.cuda.synchronize()
    ts = sorted(a.elapsed_time(b) for a, b in ev)
    return ops / ts[len(ts) // 2] * 1e-9


def main():
    torch.manual_seed(0)
    for B, N, D, causal in ((16, 1024, 128, 0), (16, 1024, 128, 1), (4, 4096, 128, 0), (1, 16384, 128, 0)):
        H = 32
        ops = 4.0 * B * H * N * N * D / (2 if causal else 1)
        for layout in ("bnhd",):   # bhnd measured the same (session 14)
            qs = []
            for s in range(4):
                q, k, v = (torch.randn(B, N, H, D, device="cuda", dtype=torch.float16) for _ in range(3))
                if layout == "bhnd":
                    q, k, v = (x.transpose(1, 2).contiguous() for x in (q, k, v))
                qs.append(intfa.quantize_qk(q, layout=layout) + intfa.quantize_qk(k, layout=layout) +
                          intfa.quantize_v(v, layout=layout))
            fn = lambda i: intfa.attention_int8(*qs[i], causal=bool(causal))
            print("B %2d N %5d hd %d causal %d %s: one set %.1f TOPS, four sets %.1f TOPS, "
                  "four sets queued %.1f TOPS" % (B, N, D, causal, layout, tops(fn, 1, ops),
                                                  tops(fn, 4, ops), tops_queued(fn, 4, ops)), flush=True)
            del qs
            torch.cuda.empty_cache()


if __name__ == "__main__":
    main()
