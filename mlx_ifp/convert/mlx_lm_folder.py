"""Write a (slim or full) model as a standard mlx-lm folder that ``mlx_lm.load`` accepts."""

from __future__ import annotations

import copy
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
from mlx_lm.utils import make_shards, save_config

from ..core import atomic_dir, d_ffn, fused_lora, origin, spec_of


def _weights_and_quant(model: nn.Module, config: dict) -> tuple[dict, dict]:
    """Flat weights, already in mlx-lm's layout, and the quantization config to go with them.

    A slim copy of a packed model holds standard ``QuantizedLinear`` down projections (at their
    own bits, which the config then names per layer, as for a fused attention LoRA at 8 bits),
    or float ones where the kept width is not a multiple of the group size: those are marked
    unquantized. Nothing is requantized here.
    """
    quant = copy.deepcopy(config.get("quantization"))
    weights = dict(nn.utils.tree_flatten(model.parameters()))
    # LoRA layers (a model with the shipped or a finetuned LoRA; slim models hold none) are
    # written fused, as `mlx_lm fuse` does: a standard folder has no LoRA weights
    fused = fused_lora(model)
    inside = tuple(f"{name}." for name in fused)
    weights = {k: v for k, v in weights.items() if not k.startswith(inside)}
    for name, module in fused.items():
        weights.update({f"{name}.{k}": v for k, v in nn.utils.tree_flatten(module.parameters())})
    if quant is not None:
        down = spec_of(model).down
        for name, module in {**dict(model.named_modules()), **fused}.items():
            if isinstance(module, nn.Linear) and name.endswith(f".{down}"):
                quant[name] = False
            elif isinstance(module, nn.QuantizedLinear) and module.bits != quant.get("bits"):
                quant[name] = {"group_size": module.group_size, "bits": module.bits}
    return weights, quant


def provenance(model: nn.Module, mask=None) -> dict:
    """Which source model, mask and budget a (slim) model came from: recorded by every export."""
    info = origin(model)
    out = {"source": str(info.get("model", "")), "fingerprint": info.get("fingerprint", {})}
    if mask is not None:
        out.update(mask=mask.digest(), mask_source=mask.source, k=mask.k, keep=mask.keep)
        out.update(d_ffn=mask.d_ffn, text_hash=mask.text_hash)
    return out


def export(
    model: nn.Module, tokenizer, out_dir: str | Path, dtype: str | None = None, mask=None
) -> Path:
    """Save ``model`` (e.g. a slim model from ``prune``) with its tokenizer to ``out_dir``.

    The config is the source's, with ``intermediate_size`` set to the kept width, plus an
    ``mlx_ifp`` entry naming the source model, the mask and the budget (``mask``: the ``Mask``
    it was pruned with). Written to a temporary folder first: a failure leaves nothing behind.
    """
    config = copy.deepcopy(origin(model)["config"])
    config["mlx_ifp"] = provenance(model, mask)
    width = d_ffn(model)
    if "intermediate_size" in config:
        config["intermediate_size"] = width
    if "text_config" in config and "intermediate_size" in config["text_config"]:
        config["text_config"]["intermediate_size"] = width
    weights, quant = _weights_and_quant(model, config)
    if dtype is not None:
        target = getattr(mx, dtype)
        weights = {
            k: v.astype(target) if mx.issubdtype(v.dtype, mx.floating) else v
            for k, v in weights.items()
        }
        if quant is None:
            config["torch_dtype"] = dtype
    if quant is not None:
        config["quantization"] = quant
    out_dir = Path(out_dir)
    with atomic_dir(out_dir) as tmp:
        shards = make_shards(weights)
        names = (
            ["model.safetensors"]
            if len(shards) == 1
            else [f"model-{i + 1:05d}-of-{len(shards):05d}.safetensors" for i in range(len(shards))]
        )
        index = {
            "metadata": {"total_size": sum(v.nbytes for v in weights.values())},
            "weight_map": {},
        }
        for name, shard in zip(names, shards, strict=True):
            mx.save_safetensors(str(tmp / name), shard, metadata={"format": "mlx"})
            index["weight_map"].update({k: name for k in shard})
        if len(shards) > 1:
            import json

            (tmp / "model.safetensors.index.json").write_text(json.dumps(index, indent=2))
        save_config(config, config_path=tmp / "config.json")
        tokenizer.save_pretrained(str(tmp))
    return out_dir
