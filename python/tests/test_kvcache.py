"""intfa.KVCache. CPU: argument errors name the argument (the pool size is computed without a
GPU). GPU: a decode loop (a prompt appended in chunks, then one token at a time, attention after
each step) against float64 attention on the same fp16 K/V, and bit-identical to a cache filled
by one append; GQA, causal with several query tokens, bf16."""
import math

import pytest
import torch

import intfa


def test_arguments_are_checked_before_any_gpu_work():
    with pytest.raises(TypeError, match="dtype"):
        intfa.KVCache(8, 128, 2, 64, 2, dtype=torch.float32)
    with pytest.raises(ValueError, match="CUDA device"):
        intfa.KVCache(8, 128, 2, 64, 2, device="cpu")
    for d in (96, 256, 32):   # intfa.attention takes these; the paged cache keeps 64 and 128
        with pytest.raises(ValueError, match=r"head_dim = %d: the paged KV cache has kernels for "
                                             r"head_dim 64 and 128 only" % d):
            intfa.KVCache(8, 128, 2, d, 2)
    with pytest.raises(TypeError, match="int32 CPU tensor"):
        intfa.kv_cache._host_i32(torch.zeros(2, dtype=torch.int64), "slots")
    with pytest.raises(ValueError, match="lens has 3 rows, expected 2"):
        intfa.kv_cache._host_i32(torch.zeros(3, dtype=torch.int32), "lens", 2)


def exact(q, k, v, causal):
    """float64 attention of q [nq, Hq, D] over k, v [n, Hkv, D], causal bottom-right."""
    nq, hq, d = q.shape
    n, hkv = k.shape[0], k.shape[1]
    kk = k.double().repeat_interleave(hq // hkv, dim=1)
    vv = v.double().repeat_interleave(hq // hkv, dim=1)
    s = torch.einsum("qhd,khd->hqk", q.double(), kk) / math.sqrt(d)
    if causal:
        i = torch.arange(nq).view(-1, 1) + n - nq
        s = s.masked_fill(torch.arange(n).view(1, -1) > i, float("-inf"))
    return torch.einsum("hqk,khd->qhd", torch.softmax(s, dim=-1), vv)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype,hq,hkv,d,ps,nq,causal", [
    (torch.float16, 32, 8, 128, 128, 1, False),
    (torch.bfloat16, 8, 2, 64, 16, 4, True),
])
def test_decode_loop(dtype, hq, hkv, d, ps, nq, causal):
    torch.manual_seed(0)
    dev = "cuda"
    lens_final = [700, 90]
    B, pages_per_seq = len(lens_final), max((n + ps - 1) // ps for n in lens_final)
    table = torch.randperm(B * pages_per_seq).to(torch.int32).reshape(B, pages_per_seq)
    slots = torch.tensor([1, 0], dtype=torch.int32)
    ks = [torch.randn(n, hkv, d, dtype=dtype, device=dev) for n in lens_final]
    vs = [torch.randn(n, hkv, d, dtype=dtype, device=dev) for n in lens_final]
    chunked = intfa.KVCache(B * pages_per_seq, ps, hkv, d, 2, dtype=dtype)
    lens = torch.zeros(B, dtype=torch.int32)
    worst = 0.0
    while (lens < torch.tensor(lens_final, dtype=torch.int32)).any():
        left = torch.tensor(lens_final, dtype=torch.int32) - lens
        step = torch.where(left > 40, torch.minimum(left, torch.tensor(37)), (left > 0).to(torch.int32))
        cu = torch.zeros(B + 1, dtype=torch.int32)
        cu[1:] = torch.cumsum(step, 0)
        k = torch.cat([ks[b][lens[b]:lens[b] + step[b]] for b in range(B)])
        v = torch.cat([vs[b][lens[b]:lens[b] + step[b]] for b in range(B)])
        chunked.append(k, v, cu, slots, lens, table)
        lens += step
        if (left <= 3).all():  # the last tokens: attend after each, as a decode loop does
            q = torch.randn(B, nq, hq, d, dtype=dtype, device=dev)
            out, lse = chunked.attention(q, slots, lens, table, causal=causal, return_lse=True)
            for b in range(B):
                n = int(lens[b])
                ref = exact(q[b].cpu(), ks[b][:n].cpu(), vs[b][:n].cpu(), causal)
                rel = ((out[b].double().cpu() - ref).norm() / ref.norm()).item()
                worst = max(worst, rel)
            assert torch.isfinite(lse).all()
    assert worst < 2.5e-2, worst
    # the same tokens in one append: the same attention, bit for bit
    once = intfa.KVCache(B * pages_per_seq, ps, hkv, d, 2, dtype=dtype)
    cu = torch.tensor([0, lens_final[0], sum(lens_final)], dtype=torch.int32)
    once.append(torch.cat(ks), torch.cat(vs), cu, slots, torch.zeros(B, dtype=torch.int32), table)
    q = torch.randn(B, nq, hq, d, dtype=dtype, device=dev)
    a = chunked.attention(q, slots, lens, table, causal=causal)
    b = once.attention(q, slots, lens, table, causal=causal)
    assert torch.equal(a, b)
