"""LoRA layers: found, switched off for one block of code, or fused (the one home of fusing).

The teacher of distillation and the predictor's GRIFFIN features both read the *source* model,
whatever adapters the LLM carries. Full-weight finetunes keep a frozen copy instead. Exports
and slim models hold LoRA fused (``fused_lora``, ``lora_delta``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

import mlx.core as mx
import mlx.nn as nn


def lora_layers(model: nn.Module) -> list[nn.Module]:
    """The LoRA (or DoRA) layers inside ``model`` (mlx-lm's, recognised by their parameters)."""
    return [
        m
        for _, m in model.named_modules()
        if "lora_a" in m and "lora_b" in m and hasattr(m, "scale")
    ]


def has_lora(model: nn.Module) -> bool:
    return bool(lora_layers(model))


@contextlib.contextmanager
def lora_disabled(model: nn.Module) -> Iterator[None]:
    """Inside the block, every LoRA layer adds nothing (its scale is 0): the source model."""
    layers = lora_layers(model)
    scales = [m.scale for m in layers]
    for m in layers:
        m.scale = 0.0
    try:
        yield
    finally:
        for m, s in zip(layers, scales, strict=True):
            m.scale = s


def lora_delta(m: nn.Module, rows: mx.array | None = None, cols: mx.array | None = None):
    """A LoRA layer's float (out, in) weight delta ``scale * (A B)^T``, optionally only output
    ``rows`` or input ``cols``: a slice costs a slice of the low-rank product.

    Computed in float32 whatever the adapter's dtype: as exact as the LoRA forward on a float32
    model, and on CPU float32 runs through BLAS while a float16 product does not (the shipped
    float16 LoRA's per-slice delta took 5-8x longer, most of a slim copy's time)."""
    a = m.lora_a if cols is None else m.lora_a[cols]
    b = m.lora_b if rows is None else m.lora_b[:, rows]
    return (m.scale * b.T.astype(mx.float32)) @ a.T.astype(mx.float32)


def fused_lora(
    model: nn.Module, dequantize: bool = False, bits: int | None = None, where=None
) -> dict[str, nn.Module]:
    """mlx-lm LoRA layers by name (those ``where(name)`` accepts), each fused as `mlx_lm fuse`
    does: float where the base layer is float or ``dequantize``, else packed at its own bits
    (or at ``bits``: dequantized, delta added, quantized once)."""
    out = {}
    for name, m in model.named_modules():
        if "lora_a" not in m or not hasattr(m, "fuse") or (where and not where(name)):
            continue
        base = m.linear
        repack = bits is not None and not dequantize and isinstance(base, nn.QuantizedLinear)
        lin = m.fuse(dequantize=dequantize or repack)
        if repack:
            lin = nn.QuantizedLinear.from_linear(lin, base.group_size, bits, mode=base.mode)
        lin.freeze()
        out[name] = lin
    return out
