"""Parameters and bytes of a model and of its FFNs (quantized weights counted unpacked)."""

from __future__ import annotations

import mlx.nn as nn

from . import ffn


def _logical_params(module: nn.Module) -> int:
    n = 0
    for _, leaf in nn.utils.tree_flatten(
        module.leaf_modules(), is_leaf=lambda m: isinstance(m, nn.Module)
    ):
        if "scales" in leaf and hasattr(leaf, "bits"):
            n += leaf.weight.size * 32 // leaf.bits + (leaf.bias.size if "bias" in leaf else 0)
        else:
            n += sum(v.size for _, v in nn.utils.tree_flatten(leaf.parameters()))
    return n


def _unique_nbytes(module: nn.Module) -> int:
    seen, total = set(), 0
    for _, v in nn.utils.tree_flatten(module.parameters()):
        if id(v) not in seen:
            seen.add(id(v))
            total += v.nbytes
    return total


def count(model: nn.Module) -> dict:
    """Parameters and bytes of the whole model and of its FFNs (quantized weights unpacked)."""
    f = ffn.ffns(model)
    ffn_params = sum(_logical_params(m) for m in f)
    ffn_bytes = sum(_unique_nbytes(m) for m in f)
    return {
        "params": _logical_params(model),
        "bytes": _unique_nbytes(model),
        "ffn_params": ffn_params,
        "ffn_bytes": ffn_bytes,
        "d_ffn": ffn.d_ffn(model),
        "layers": len(f),
    }
