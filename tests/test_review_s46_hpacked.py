"""Forty-sixth session, review of the packed (quantized) path: on a GPU (Metal, CUDA) models load
packed by default, while this CPU's tests mostly run float. Found by loading with
``dequantize=False`` and comparing with the float path and the README.

Bugs (each case failed before the fix):
- a LoRA on an mxfp4 or nvfp4 packed model (``generate --adapter RUN``, ``export --adapter RUN``,
  ``Pruner``/``generate`` on ``load(M, adapter_path=RUN)``): MLX's ``ValueError: [quantize]
  mxfp4 quantization requires bits to be 4 but got 8`` traceback before the first token.
  Fusing the attention LoRA repacked it at 8 bits, which those modes do not have; it is now
  fused float (exact), as a slim down projection of such a model already is;
- ``export`` of a packed model with LoRA layers in its FFN left unpruned (``export --adapter
  RUN --keep 1.0``, ``--mask-source full``, ``mlx_ifp.export`` of ``load(M, adapter_path=RUN)``)
  fused them at the source's 4 bits: a second 4-bit rounding the slim models avoid (README:
  packed LoRA fused at 8 bits), so the export was not the model ``generate`` runs (KL 0.012 on
  a tiny model, 500x what the 8-bit fuse costs). It is now fused as the slim models are: at 8
  bits at least (affine, mxfp8), float where the mode has no such bits.
"""

import json

import mlx_ifp  # first: the optimized BLAS before mlx.core

import mlx.core as mx
import mlx.nn as nn
import mlx_lm
import pytest
from tiny import endless_tokenizer, save_folder, tiny_model

X = mx.array([[5, 6, 7, 8, 9, 10, 11, 12]])


def _lora(model, seed: int = 3):
    """``model`` with mlx-lm LoRA layers on every linear of its 3 layers, their weights random
    (so the delta matters)."""
    from mlx_lm.tuner.utils import linear_to_lora_layers

    model.freeze()
    linear_to_lora_layers(model, 3, dict(rank=4, scale=10.0, dropout=0.0))
    leaves = model.trainable_parameters()
    mx.random.seed(seed)
    model.update(nn.utils.tree_map(lambda p: 0.05 * mx.random.normal(p.shape), leaves))
    mx.eval(model.parameters())
    return model


def _logprobs(out):
    out = out.astype(mx.float32)
    return out - mx.logsumexp(out, axis=-1, keepdims=True)


def _kl(ref, model) -> float:
    p, q = _logprobs(ref(X)), _logprobs(model(X))
    return (mx.exp(p) * (p - q)).sum(-1).mean().item()


@pytest.mark.parametrize("mode, group_size", [("mxfp4", 32), ("nvfp4", 16)])
def test_a_lora_on_an_mxfp4_or_nvfp4_model_prunes(mode, group_size):
    """``ValueError: [quantize] mxfp4 quantization requires bits to be 4 but got 8``."""
    model = tiny_model("llama")
    nn.quantize(model, group_size=group_size, bits=4, mode=mode)
    model = _lora(model)
    tok = endless_tokenizer()
    pruner = mlx_ifp.Pruner(model, tok, source="griffin", keep=40)
    slim, info = pruner.slim_for("t5 t6 t7")
    assert info.mask.k == 40 and slim(X).shape == (1, 8, 128)
    # the attention LoRA is fused float: the unpruned slim base is the LoRA'd model, exactly
    assert isinstance(pruner.slim_base.model.layers[0].self_attn.q_proj, nn.Linear)
    assert _kl(model, pruner.slim_base) < 1e-4  # (float rounding: ~3e-6)
    text = mlx_ifp.generate(model, tok, "t5 t6 t7", max_tokens=3, mask_source="griffin", keep=40)
    assert len(text.split()) == 3


@pytest.fixture(scope="module")
def packed_lora(tmp_path_factory):
    """A 4-bit tiny model folder, loaded packed, with random LoRA layers on every linear."""
    folder = save_folder(
        tiny_model("llama", quantize=True), tmp_path_factory.mktemp("pl") / "q", quantized=True
    )
    net, tok = mlx_ifp.load(str(folder), dequantize=False)
    return _lora(net), tok


def test_an_unpruned_export_of_a_packed_lora_model_is_not_rounded_at_4_bits(packed_lora, tmp_path):
    """The FFN LoRA was fused at the source's 4 bits: KL 0.012 from the model generate runs."""
    net, tok = packed_lora
    slim, info = mlx_ifp.select(net, tok, "t5 t6", keep=1.0, mask_source="full")
    out = mlx_ifp.export(slim, tok, tmp_path / "full", mask=info.mask)
    back, _ = mlx_lm.load(str(out))
    assert _kl(net, back) < 1e-3  # 8-bit: ~3e-5
    quant = json.loads((out / "config.json").read_text())["quantization"]
    assert quant["bits"] == 4 and quant["model.layers.0.mlp.down_proj"]["bits"] == 8
    # the API's own export of the LoRA'd model (mlx_ifp.load(M, adapter_path=RUN) then export)
    back, _ = mlx_lm.load(str(mlx_ifp.export(net, tok, tmp_path / "api")))
    assert _kl(net, back) < 1e-3
