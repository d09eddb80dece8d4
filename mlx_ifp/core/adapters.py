"""Run a model as its frozen source: LoRA layers switched off for one block of code.

The teacher of distillation and the predictor's GRIFFIN features both read the *source* model,
whatever adapters the LLM carries. Full-weight finetunes keep a frozen copy instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

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
