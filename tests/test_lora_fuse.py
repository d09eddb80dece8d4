"""A slim model of a LoRA model carries no LoRA layer: FFN LoRA is fused where each slice is
cut, attention LoRA once into the model slim copies are cut from; the source stays as it was."""

import mlx_ifp
from mlx_ifp.core import ffn
from mlx_ifp.core.mask import Mask, topk_indices

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest
from mlx_lm import load as mlx_lm_load
from mlx_lm.tuner.utils import linear_to_lora_layers
from tiny import save_folder, tiny_model

X = mx.array([[3, 1, 4, 1, 5, 9, 2, 6, 5, 3, 5, 8]])
KEYS = ["self_attn.q_proj", "self_attn.k_proj", "self_attn.v_proj", "self_attn.o_proj"]
KEYS += ["mlp.gate_proj", "mlp.up_proj", "mlp.down_proj"]


def lora_model(quantize: bool, model=None) -> nn.Module:
    """A tiny model with a LoRA (rank 4, scale 10, non-zero B) on every projection of 3 layers."""
    model = model or tiny_model("llama", quantize=quantize)
    model.freeze()
    linear_to_lora_layers(model, 3, dict(rank=4, scale=10.0, dropout=0.0, keys=KEYS))
    for i, (_, m) in enumerate(model.named_modules()):
        if "lora_b" in m:
            m.lora_b = 0.02 * mx.random.normal(m.lora_b.shape, key=mx.random.key(i))
    mx.eval(model.parameters())
    return model


def _mask(model, k, seed=3):
    L, d = len(ffn.layers(model)), ffn.d_ffn(model)
    return Mask(topk_indices(mx.random.uniform(shape=(L, d), key=mx.random.key(seed)), k), d)


def _lora_count(model) -> int:
    return sum("lora_a" in m for _, m in model.named_modules())


def _kl(p: mx.array, q: mx.array) -> float:
    lp, lq = nn.log_softmax(p, axis=-1), nn.log_softmax(q, axis=-1)
    return float(mx.mean(mx.sum(mx.exp(lp) * (lp - lq), axis=-1)).item())


def _unfused_slim(model, mask) -> mx.array:
    """Logits of the unfused slim model: the LoRA model with the other channels masked off."""
    with ffn.masked(model, mask.dense()):
        return model(X)


@pytest.mark.parametrize("k", [40, 64])
def test_float_slim_has_no_lora_and_matches_the_unfused_one(k):
    model = lora_model(quantize=False)
    before = model(X)
    mask = _mask(model, k)
    slim, _ = mlx_ifp.Pruner(model, None, "random", keep=k).slim_from_mask(mask)
    assert _lora_count(slim) == 0 and _lora_count(model) == 21
    np.testing.assert_allclose(np.array(slim(X)), np.array(_unfused_slim(model, mask)), atol=1e-4)
    np.testing.assert_array_equal(np.array(model(X)), np.array(before))  # source unchanged


def test_prune_fuses_the_ffn_lora_exactly_in_float():
    model = lora_model(quantize=False)
    mask = _mask(model, 40)
    slim = mlx_ifp.prune(model, mask)
    assert all(type(getattr(f, n)) is nn.Linear for f in ffn.ffns(slim) for n in ("gate_proj",))
    assert all("lora_a" not in m for f in ffn.ffns(slim) for _, m in f.named_modules())
    np.testing.assert_allclose(np.array(slim(X)), np.array(_unfused_slim(model, mask)), atol=1e-4)


@pytest.mark.parametrize("k, down", [(40, nn.Linear), (64, nn.QuantizedLinear)])
def test_packed_slim_is_requantized_once_at_8_bits_with_a_bounded_error(k, down):
    model = lora_model(quantize=True)
    before = model(X)
    mask = _mask(model, k)
    pruner = mlx_ifp.Pruner(model, None, "random", keep=k)
    slim, _ = pruner.slim_from_mask(mask)
    assert _lora_count(slim) == 0
    f = ffn.ffns(slim)[1]
    assert type(f.gate_proj) is nn.QuantizedLinear and f.gate_proj.bits == 8
    assert type(f.down_proj) is down
    if down is nn.QuantizedLinear:
        assert f.down_proj.bits == 8
    attn = slim.model.layers[1].self_attn.q_proj  # fused once, at 8 bits
    assert type(attn) is nn.QuantizedLinear and attn.bits == 8
    ref = _unfused_slim(model, mask)
    # what fusing costs: one 8-bit requantization of the kept rows and columns
    assert _kl(ref, slim(X)) < 3e-4  # seen: 2e-5 / 4e-5; gate/up at 4 bits: 7e-4 / 1.2e-3
    np.testing.assert_array_equal(np.array(model(X)), np.array(before))


def test_export_of_a_packed_slim_lora_model_is_what_it_decodes(tmp_path):
    folder = save_folder(tiny_model("llama", quantize=True), tmp_path / "q4", quantized=True)
    model, tok = mlx_ifp.load(str(folder), dequantize=False)
    model = lora_model(True, model)
    slim, _ = mlx_ifp.Pruner(model, tok, "random", keep=64).slim_from_mask(_mask(model, 64))
    out = mlx_ifp.export(slim, tok, tmp_path / "slim")
    loaded, _ = mlx_lm_load(str(out))
    assert loaded.layers[0].self_attn.q_proj.bits == 8  # named per layer in the config
    np.testing.assert_array_equal(np.array(loaded(X)), np.array(slim(X)))


def test_a_float16_adapter_is_fused_in_float32():
    """The shipped LoRA is float16: its sliced delta is a float32 product (on CPU float16 has no
    BLAS; tools/lora_slice_cost.py), as exact as the unfused LoRA forward of a float32 model."""
    from mlx_ifp.core.ffn import lora_delta

    model = lora_model(quantize=False)
    for _, m in model.named_modules():
        if "lora_a" in m:
            m.lora_a, m.lora_b = m.lora_a.astype(mx.float16), m.lora_b.astype(mx.float16)
    gate = ffn.ffns(model)[-1].gate_proj
    assert lora_delta(gate, rows=mx.array([0, 2, 5])).dtype == mx.float32
    mask = _mask(model, 40)
    slim = mlx_ifp.prune(model, mask)
    np.testing.assert_allclose(np.array(slim(X)), np.array(_unfused_slim(model, mask)), atol=2e-5)


@pytest.mark.parametrize(("quantize", "in_place"), [(False, False), (False, True), (True, False)])
def test_slim_update_is_the_slim_copy_of_the_new_mask(quantize, in_place):
    """Re-picking updates a slim model: a channel that came in takes the slot of one that left
    (sliced with its LoRA fused), the others stay put, unchanged layers are shared; it computes
    what a fresh slice of the new mask does (packed layers are sliced whole). Not in place, the
    old slim model is left as it was."""
    from mlx_ifp.core import slicing

    model = lora_model(quantize=quantize)
    a, b = _mask(model, 64, seed=3), _mask(model, 64, seed=4)
    b.indices[1] = a.indices[1]  # one layer keeps its channels
    first = mlx_ifp.prune(model, a)
    before = first(X)
    order = [i.tolist() for i in a.indices]
    slim, new_order = slicing.slim_update(model, first, order, b.indices, in_place=in_place)
    assert [sorted(o) for o in new_order] == [i.tolist() for i in b.indices]
    assert ffn.layers(slim)[1] is ffn.layers(first)[1]  # shared, not copied
    if not quantize:  # a channel in both masks keeps its slot
        stay = set(order[0]) & set(new_order[0])
        assert all(order[0].index(c) == new_order[0].index(c) for c in stay)
    want = mlx_ifp.prune(model, b)(X)
    np.testing.assert_allclose(np.array(slim(X)), np.array(want), atol=1e-4)
    assert not np.allclose(np.array(before), np.array(want), atol=1e-3)
    if not in_place:
        np.testing.assert_array_equal(np.array(first(X)), np.array(before))
