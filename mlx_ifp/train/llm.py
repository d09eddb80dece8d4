"""The trained pair (predictor + LLM) and how the LLM trains: frozen, LoRA or full weights."""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn

from ..core import active_masks, install, layers, masks_set
from ..sources.predictor import Predictor
from . import checkpoint
from .config import FinetuneConfig


class Joint(nn.Module):
    """The trained pair: one tree of parameters for one ``value_and_grad``."""

    def __init__(self, predictor: Predictor, llm: nn.Module, teacher: nn.Module | None = None):
        super().__init__()
        self.predictor = predictor
        self.llm = llm
        # the frozen source for distillation and GRIFFIN features when the LLM's own weights
        # train (LoRA and frozen runs switch their adapters off instead); not a child
        object.__setattr__(self, "teacher", teacher)


def frozen_copy(model: nn.Module) -> nn.Module:
    """A frozen copy of ``model`` (its own arrays, unaffected by later updates)."""
    import copy

    twin = copy.deepcopy(model)
    twin.freeze()
    return twin


def prepare_llm(model: nn.Module, cfg: FinetuneConfig) -> nn.Module:
    """Freeze the LLM, give it mlx-lm LoRA layers, or leave it all trainable."""
    from mlx_lm.tuner.utils import linear_to_lora_layers

    install(model)
    model.freeze()
    if cfg.train == "lora":
        lora = checkpoint.adapter_config(cfg)["lora_parameters"]
        linear_to_lora_layers(model, cfg.lora_layers, lora)
    elif cfg.train == "full":
        model.unfreeze()
    if cfg.grad_checkpoint:
        checkpoint_layers(model)
    return model


_CKPT: dict[type, type] = {}


def checkpoint_layers(model: nn.Module) -> None:
    """Recompute each block in the backward pass; the layer's FFN masks pass in as inputs."""

    def wrap(call):
        def checkpointed(self, x, *args, **kwargs):
            masks = active_masks()

            def inner(params, x, *m):
                self.update(params)
                with masks_set(list(m) if m else None):
                    return call(self, x, *args, **kwargs)

            return mx.checkpoint(inner)(self.trainable_parameters(), x, *(masks or []))

        return checkpointed

    for layer in layers(model):
        cls = type(layer)
        if cls in _CKPT.values():
            continue
        if cls not in _CKPT:
            _CKPT[cls] = type(cls.__name__, (cls,), {"__call__": wrap(cls.__call__)})
        layer.__class__ = _CKPT[cls]
