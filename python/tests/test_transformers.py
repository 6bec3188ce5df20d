"""intfa.integrations.transformers: attn_implementation="intfa". CPU: registration, the fallback
to transformers' SDPA (same logits, one warning naming the reason), the intfa path's shapes on
meta tensors. GPU: a small random Llama (GQA, hd64) in fp16 against its SDPA twin."""
import warnings

import pytest
import torch

transformers = pytest.importorskip("transformers")
from intfa.integrations import transformers as intfa_tf  # noqa: E402


def tiny_llama(impl, dtype=torch.float32, device="cpu"):
    config = transformers.LlamaConfig(vocab_size=101, hidden_size=256, intermediate_size=512,
                                      num_hidden_layers=2, num_attention_heads=4,
                                      num_key_value_heads=2, max_position_embeddings=256)
    torch.manual_seed(0)
    # what from_pretrained(..., attn_implementation=impl) does with a checkpoint's config
    model = transformers.LlamaForCausalLM._from_config(config, attn_implementation=impl)
    assert model.config._attn_implementation == impl
    return model.to(device=device, dtype=dtype).eval()


def test_register_adds_the_name():
    intfa_tf.register()  # twice: idempotent
    assert intfa_tf.register() == "intfa"
    assert "intfa" in transformers.AttentionInterface()


def test_cpu_falls_back_to_sdpa_with_one_warning():
    intfa_tf.register()
    intfa_tf._warned.clear()
    ids = torch.randint(0, 101, (2, 17))
    with torch.no_grad():
        want = tiny_llama("sdpa")(ids).logits
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            got = tiny_llama("intfa")(ids).logits
            again = tiny_llama("intfa")(ids).logits
    torch.testing.assert_close(got, want, rtol=0, atol=0)
    torch.testing.assert_close(again, want, rtol=0, atol=0)
    ours = [w for w in caught if "intfa (transformers)" in str(w.message)]
    assert len(ours) == 1 and "query.dtype = torch.float32" in str(ours[0].message)


def test_intfa_path_shapes_on_meta():
    q = torch.empty(2, 4, 33, 64, dtype=torch.float16, device="meta")
    k = torch.empty(2, 2, 33, 64, dtype=torch.float16, device="meta")
    module = torch.nn.Module()
    module.is_causal = True
    out, weights = intfa_tf.attention_forward(module, q, k, k, None, scaling=0.125)
    assert out.shape == (2, 33, 4, 64) and out.is_contiguous() and weights is None


@pytest.mark.gpu
def test_gpu_llama_matches_sdpa():
    intfa_tf.register()
    ids = torch.randint(0, 101, (2, 200), device="cuda")
    with torch.no_grad():
        want = tiny_llama("sdpa", torch.float16, "cuda")(ids).logits.float()
        got = tiny_llama("intfa", torch.float16, "cuda")(ids).logits.float()
    err = (got - want).norm() / want.norm()
    cos = torch.nn.functional.cosine_similarity(got.flatten(), want.flatten(), dim=0).item()
    top1 = (got.argmax(-1) == want.argmax(-1)).float().mean().item()
    print("\nllama: intfa vs sdpa logits: relative L2 %.2e, cosine %.5f, top-1 agreement %.3f "
          "(%d positions)" % (err.item(), cos, top1, want.shape[0] * want.shape[1]))
    assert err < 5e-2, err
    assert cos > 0.998, cos
