"""P (and V) formats of the attention's second product, simulated in float64 on N(0,1) inputs
with per-token INT8 Q/K (relative L2 against exact attention, N = 1024 and 4096):
  pu8  P quantized to 8 bits against each tile's row maximum, V INT8 per channel (the default)
  f16  P and V in fp16 (pf16)
  fp8  P e4m3 against the lazy reference maximum, V e4m3 per channel (SageAttention 2's scheme)
and pu8 with 64-, 128- and 256-key P tiles. Session 3 of 2026-12-06 (docs/PERF_NOTES.md):
pu8 1.36e-2 to 1.44e-2, f16 0.86e-2 to 0.91e-2, fp8 3.7e-2 to 4.0e-2; pu8 with 256-key tiles
1.44e-2 to 1.52e-2. usage: python3 p_formats_sim.py (needs torch, CPU)."""
import torch, math
torch.manual_seed(0)
def e4m3(x):  # round to nearest e4m3 (saturating)
    return x.to(torch.float8_e4m3fn).to(torch.float64)
def qrow(x):  # per-token int8
    s = x.abs().amax(-1, keepdim=True) / 127
    return torch.round(x / s).clamp(-127, 127) * s
def run(N=2048, D=128, BN=128, mode="pu8"):
    q, k, v = (torch.randn(N, D, dtype=torch.float64) for _ in range(3))
    q, k, v = (x.half().double() for x in (q, k, v))
    sc = 1 / math.sqrt(D)
    ref = torch.softmax(q @ k.T * sc, -1) @ v
    qd, kd = qrow(q), qrow(k)
    s = qd @ kd.T * sc * 1.4426950408889634
    out = torch.zeros(N, D, dtype=torch.float64); m = torch.full((N, 1), -math.inf, dtype=torch.float64); l = torch.zeros(N, 1, dtype=torch.float64)
    if mode == "fp8":
        vs = v.abs().amax(0, keepdim=True) / 448; vq = e4m3(v / vs) * vs
    elif mode == "pu8":
        vs = v.abs().amax(0, keepdim=True) / 127; vq = torch.round(v / vs) * vs
    else:
        vq = v
    for t0 in range(0, N, BN):
        x = s[:, t0:t0 + BN]
        mt = x.amax(-1, keepdim=True)
        mn = torch.where(mt > m + 8, mt, m)
        alpha = torch.exp2(m - mn); alpha[torch.isinf(m)] = 0
        out *= alpha; l *= alpha; m = mn
        if mode == "pu8":
            p = torch.exp2(x - mt); pq = torch.round(p * 255) / 255 * torch.exp2(mt - m)
            l += pq.sum(-1, keepdim=True); out += pq @ vq[t0:t0 + BN]
        else:
            p = torch.exp2(x - m)
            pr = e4m3(p) if mode == "fp8" else p.half().double()
            l += p.sum(-1, keepdim=True); out += pr @ vq[t0:t0 + BN]
    out /= l
    return ((out - ref).norm() / ref.norm()).item()
for D in (64, 128):
    for mode in ("pu8", "f16", "fp8"):
        print(D, mode, ["%.3e" % run(N=n, D=D, mode=mode) for n in (1024, 4096)])
for D in (64, 128):
    for BN in (64, 128, 256):
        print(D, BN, ["%.3e" % run(N=n, D=D, BN=BN, mode="pu8") for n in (1024, 4096)])
