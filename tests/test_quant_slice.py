"""Packed (quantized) models: the source stays exactly as mlx-lm loads it; the slim copy is the
only place that requantizes, at most once; export writes that slim model without rounding."""

import mlx_ifp
from mlx_ifp.core import ffn, slicing
from mlx_ifp.core.mask import Mask, topk_indices

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest
from mlx_lm import load as mlx_lm_load
from tiny import save_folder, tiny_model

X = mx.array([[3, 1, 4, 1, 5, 9, 2, 6]])


def _mask(model, k, seed=3):
    L, d = len(ffn.layers(model)), ffn.d_ffn(model)
    return Mask(topk_indices(mx.random.uniform(shape=(L, d), key=mx.random.key(seed)), k), d)


@pytest.fixture
def packed_folder(tmp_path):
    return save_folder(tiny_model("llama", quantize=True), tmp_path / "q4", quantized=True)


def _same(a: mx.array, b: mx.array) -> None:
    np.testing.assert_array_equal(np.array(a), np.array(b))


def test_load_leaves_the_packed_source_as_mlx_lm_loads_it(packed_folder):
    ref, _ = mlx_lm_load(str(packed_folder))
    model, tok = mlx_ifp.load(str(packed_folder), dequantize=False)
    assert all(type(f.down_proj) is nn.QuantizedLinear for f in ffn.ffns(model))
    _same(model(X), ref(X))
    # a Pruner, a slim copy and the masked forward leave it unchanged too
    pruner = mlx_ifp.Pruner(model, tok, "random", keep=64)
    pruner.slim_from_mask(_mask(model, 64))
    _same(model(X), ref(X))
    with ffn.masked(model, Mask.full(model).dense()):
        _same(model(X), ref(X))


def test_gate_and_up_keep_packed_rows_exactly():
    model = tiny_model("llama", quantize=True)
    idx = mx.sort(mx.random.permutation(96, key=mx.random.key(3))[:40]).astype(mx.int32)
    mlp = ffn.ffns(model)[1]
    for name in ("gate_proj", "up_proj"):  # rows of (out, in), groups along `in`
        q = getattr(mlp, name)
        got = slicing.slice_rows(q, idx)
        assert type(got) is nn.QuantizedLinear
        _same(slicing.dense_weight(got), slicing.dense_weight(q)[idx])


def test_packed_down_is_requantized_once_when_the_group_size_divides_k():
    model = tiny_model("llama", quantize=True)
    down = ffn.ffns(model)[1].down_proj
    idx = mx.sort(mx.random.permutation(96, key=mx.random.key(5))[:64]).astype(mx.int32)
    w = slicing.dense_weight(down)[:, idx]  # (64 out, 64 kept channels), float
    got = slicing.slice_cols(down, idx)
    # at 8 bits (REQUANT_MIN_BITS): a second 4-bit grid over columns from different source
    # groups added KL 0.32 on SmolLM2 at keep 0.5, 8 bits 0.001 (docs/correctness.md)
    assert type(got) is nn.QuantizedLinear and (got.group_size, got.bits) == (32, 8)
    ref = mx.quantize(w, 32, 8)  # exactly one quantization of the kept columns
    _same(got.weight, ref[0])
    _same(got.scales, ref[1])
    _same(got.biases, ref[2])


def test_packed_down_stays_float_when_the_group_size_does_not_divide_k():
    model = tiny_model("llama", quantize=True)
    down = ffn.ffns(model)[1].down_proj
    idx = mx.array([0, 5, 17, 40, 41, 95])
    got = slicing.slice_cols(down, idx)
    assert type(got) is nn.Linear
    _same(got.weight, slicing.dense_weight(down)[:, idx])  # no rounding at all


@pytest.mark.parametrize("k", [40, 64], ids=["float-down", "requantized-down"])
def test_export_of_a_packed_slim_model_adds_no_rounding(packed_folder, tmp_path, k):
    model, tok = mlx_ifp.load(str(packed_folder), dequantize=False)
    slim = mlx_ifp.prune(model, _mask(model, k))
    out = mlx_ifp.export(slim, tok, tmp_path / "slim")
    loaded, _ = mlx_lm_load(str(out))
    assert loaded.args.intermediate_size == k
    want = nn.QuantizedLinear if k % 32 == 0 else nn.Linear
    assert type(loaded.layers[0].mlp.down_proj) is want
    _same(loaded(X), slim(X))


@pytest.mark.real
def test_embedded_packed_model_loads_as_mlx_lm_loads_it():
    from mlx_ifp.models.embedded import embedded_folder

    folder = embedded_folder("smollm2-135m-instruct", dequantize=False)
    ref, _ = mlx_lm_load(str(folder))
    model, _ = mlx_ifp.load(str(folder), dequantize=False)
    x = mx.array([[1, 504, 3213, 30, 2115, 282]])
    _same(model(x), ref(x))


def test_lora_on_a_packed_down_is_fused_into_the_same_slice():
    from mlx_lm.tuner.utils import linear_to_lora_layers

    model = tiny_model("llama", quantize=True)
    model.freeze()
    linear_to_lora_layers(model, 3, dict(rank=4, scale=10.0, dropout=0.0, keys=["mlp.down_proj"]))
    for f in ffn.ffns(model):
        f.down_proj.lora_b = 0.1 * mx.random.normal(f.down_proj.lora_b.shape, key=mx.random.key(1))
    for k, inner in ((40, nn.Linear), (64, nn.QuantizedLinear)):
        mask = _mask(model, k)
        with ffn.masked(model, mask.dense()):
            masked = model(X)
        slim = mlx_ifp.prune(model, mask)
        assert type(ffn.ffns(slim)[0].down_proj) is inner  # LoRA fused into the slice
        if k == 40:  # float: exact up to summation order
            np.testing.assert_allclose(np.array(slim(X)), np.array(masked), atol=1e-5)
