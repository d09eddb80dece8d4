"""Forty-sixth session, found by running the suite on CUDA: ``mx.random.seed`` before a call did
not fix the first reply of a packed (quantized) model, the default on a GPU (Metal, CUDA).

Bugs (each case failed before the fix):
- ``ffn.fused_lora`` repacked a fused LoRA with ``nn.QuantizedLinear.from_linear``, whose
  constructor draws random weights, outside ``random_state_kept``: the first slim model of a
  packed model with a LoRA (the embedded model's shipped predictor) moved MLX's global random
  state, so after ``mx.random.seed(0)`` the first reply differed from every later one;
- a packed projection sliced to a width its group size does not divide is kept float in a new
  ``nn.Linear``, whose constructor draws too (the same leak on every such slice).
"""

import mlx_ifp
from mlx_ifp.core import ffn
from mlx_ifp.core.mask import Mask, topk_indices

import mlx.core as mx
import pytest
from tiny import tiny_model


def _state() -> list:
    return mx.random.state[0].tolist()


def _lora_packed():
    from mlx_lm.tuner.utils import linear_to_lora_layers

    model = tiny_model("llama", quantize=True)
    model.freeze()
    keys = ["mlp.down_proj", "mlp.gate_proj", "mlp.up_proj"]
    linear_to_lora_layers(model, 3, dict(rank=4, scale=10.0, dropout=0.0, keys=keys))
    return model


def _mask(model, k):
    L, d = len(ffn.layers(model)), ffn.d_ffn(model)
    return Mask(topk_indices(mx.random.uniform(shape=(L, d), key=mx.random.key(3)), k), d)


def test_fusing_a_lora_into_packed_layers_keeps_the_random_state():
    model = _lora_packed()
    mx.random.seed(7)
    before = _state()
    fused = ffn.fused_lora(model, bits=8)
    assert fused  # it did fuse (and repack) something
    assert _state() == before


@pytest.mark.parametrize("k", [40, 64], ids=["float-down", "requantized-down"])
def test_slicing_a_packed_model_keeps_the_random_state(k):
    for model in (tiny_model("llama", quantize=True), _lora_packed()):
        mask = _mask(model, k)
        mx.random.seed(7)
        before = _state()
        mlx_ifp.prune(model, mask)
        assert _state() == before


@pytest.mark.real
def test_a_seed_fixes_the_first_reply_of_the_packed_embedded_model(smollm2_dir):
    """The packed load (a GPU's default) with the shipped predictor and its LoRA."""
    model, tok = mlx_ifp.load("smollm2-135m-instruct", dequantize=False)
    replies = []
    for _ in range(2):
        mx.random.seed(0)
        replies.append(mlx_ifp.generate(model, tok, "Tell me a story.", max_tokens=6, temp=1.0))
    assert replies[0] == replies[1]
