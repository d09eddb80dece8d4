"""Slicing a 4-bit source without dequantizing: lossless, and equal to slice-then-quantize."""

from mlx_ifp.core import ffn, slicing

import mlx.core as mx
import numpy as np
from tiny import tiny_model


def _check(got: mx.array, sliced: mx.array, requantized) -> None:
    """``got`` (dequantized slice) is exactly the sliced source weight, and within one
    quantization step of quantizing the float slice afresh (requantizing is not bit-exact)."""
    np.testing.assert_array_equal(np.array(got), np.array(sliced))
    fresh = mx.dequantize(*requantized, group_size=32, bits=4)
    step = float(mx.max(requantized[1]).item())
    np.testing.assert_allclose(np.array(got), np.array(fresh), atol=step)


def test_quantized_slice_equals_slice_then_quantize():
    model = slicing.prepare(tiny_model("llama", quantize=True))
    idx = mx.sort(mx.random.permutation(96, key=mx.random.key(3))[:40]).astype(mx.int32)
    mlp = ffn.ffns(model)[1]
    for name in ("gate_proj", "up_proj"):  # rows of (out, in), groups along `in`
        q = getattr(mlp, name)
        w = slicing.dense_weight(q)[idx]
        _check(slicing.dense_weight(slicing.slice_rows(q, idx)), w, mx.quantize(w, 32, 4))
    down = mlp.down_proj  # channel-major: channels are rows of (d_ffn, hidden)
    assert isinstance(down, slicing.ChannelQuantizedLinear)
    w = slicing.dense_weight(down)[:, idx]  # (hidden, k)
    got = slicing.slice_cols(down, idx)
    _check(slicing.dense_weight(got).T, w.T, mx.quantize(w.T, 32, 4))
    x = mx.random.normal((1, 3, 40), key=mx.random.key(4))
    np.testing.assert_allclose(np.array(got(x)), np.array(x @ w.T), rtol=1e-4, atol=1e-4)
