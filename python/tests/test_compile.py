"""CPU: torch.compile(fullgraph=True) traces models that call intfa.attention and intfa.sdpa into
one graph holding torch.ops.intfa.attention, on meta tensors (the fake implementation gives the
shapes; nothing launches)."""
import pytest
import torch

import intfa

B, N, H, HKV, D = 2, 48, 4, 2, 64


class Block(torch.nn.Module):
    """A GQA attention block: fused QKV projection, intfa attention, output projection."""

    def __init__(self, attend):
        super().__init__()
        self.qkv = torch.nn.Linear(H * D, (H + 2 * HKV) * D, dtype=torch.float16)
        self.out = torch.nn.Linear(H * D, H * D, dtype=torch.float16)
        self.attend = attend

    def forward(self, x):
        b, n, _ = x.shape
        q, k, v = self.qkv(x).view(b, n, H + 2 * HKV, D).split([H, HKV, HKV], dim=2)
        return self.out(self.attend(q, k, v).reshape(b, n, H * D))


def bnhd_causal(q, k, v):
    return intfa.attention(q, k, v, causal=True)


def sdpa_gqa(q, k, v):
    o = intfa.sdpa(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2), is_causal=True,
                   enable_gqa=True)
    return o.transpose(1, 2)


class Recorder:
    """A torch.compile backend that keeps each graph it is given and runs it as traced."""

    def __init__(self):
        self.graphs = []

    def __call__(self, gm, example_inputs):
        self.graphs.append(gm)
        return gm.forward

    def calls(self, op):
        return sum(1 for g in self.graphs for node in g.graph.nodes if node.target is op)


@pytest.fixture(autouse=True)
def fresh_dynamo():
    torch._dynamo.reset()
    yield
    torch._dynamo.reset()


@pytest.mark.parametrize("attend", [bnhd_causal, sdpa_gqa])
def test_fullgraph_holds_the_op(attend):
    model = Block(attend).to("meta")
    rec = Recorder()
    compiled = torch.compile(model, backend=rec, fullgraph=True)
    with torch.no_grad():   # intfa is forward-only: with gradients wanted, intfa.sdpa falls back
        y = compiled(torch.empty(B, N, H * D, dtype=torch.float16, device="meta"))
    assert y.shape == (B, N, H * D) and y.dtype == torch.float16
    assert len(rec.graphs) == 1
    assert rec.calls(torch.ops.intfa.attention.default) == 1


@pytest.mark.parametrize("D", [D, 96])
def test_dynamic_sequence_length_compiles_once(D):
    rec = Recorder()

    def f(q, k, v):
        out, lse = intfa.attention(q, k, v, causal=True, return_lse=True)
        return out * 2, lse

    compiled = torch.compile(f, backend=rec, fullgraph=True, dynamic=True)
    for n in (100, 120, 140):   # none equal to D: equal sizes share a symbol, and D is specialized
        q = torch.empty(1, n, H, D, dtype=torch.bfloat16, device="meta")
        kv = torch.empty(1, n + 7, HKV, D, dtype=torch.bfloat16, device="meta")
        out, lse = compiled(q, kv, kv)
        assert out.shape == q.shape and lse.shape == (1, H, n)
    assert len(rec.graphs) == 1


def test_aot_eager_traces_the_fake_implementation():
    model = Block(bnhd_causal).to("meta")
    compiled = torch.compile(model, backend="aot_eager", fullgraph=True)
    with torch.inference_mode():
        y = compiled(torch.empty(B, N, H * D, dtype=torch.float16, device="meta"))
    assert y.shape == (B, N, H * D)


def test_sdpa_fallback_under_compile_is_torch_sdpa():
    rec = Recorder()

    def f(q, k, v, mask):
        return intfa.sdpa(q, k, v, attn_mask=mask)

    q = torch.empty(1, H, N, D, dtype=torch.float16, device="meta")
    mask = torch.empty(N, N, dtype=torch.bool, device="meta")
    torch.compile(f, backend=rec, fullgraph=True)(q, q, q, mask)
    assert rec.calls(torch.ops.intfa.attention.default) == 0
    assert rec.calls(torch._C._nn.scaled_dot_product_attention) == 1


def test_export_with_fake_cuda_tensors():
    """FakeTensors on device cuda (no GPU needed): torch.export traces one intfa node."""
    from torch._subclasses.fake_tensor import FakeTensorMode

    class Attend(torch.nn.Module):
        def forward(self, q, k, v):
            return intfa.attention(q, k, v, causal=True, layout="bhnd") * 2

    with FakeTensorMode():
        q = torch.empty(1, H, 100, D, dtype=torch.float16, device="cuda")
        kv = torch.empty(1, HKV, 120, D, dtype=torch.float16, device="cuda")
        ep = torch.export.export(Attend(), (q, kv, kv))
    nodes = [n for n in ep.graph.nodes if n.target is torch.ops.intfa.attention.default]
    assert len(nodes) == 1 and nodes[0].meta["val"][0].device.type == "cuda"
