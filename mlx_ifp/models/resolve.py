"""Resolve a model name to (model, tokenizer): the embedded default, a .gguf file, or mlx-lm.

Every route ends in ``mlx_lm.load`` of a standard mlx-lm folder; GGUF files and the embedded
model are converted to one once and cached.
"""

from __future__ import annotations

import json
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
from mlx_lm.utils import dequantize_model

from ..core import ffn
from ..core.mask import fingerprint
from ..core.origin import record_origin
from ..errors import UsageError

DEFAULT_MODEL = "smollm2-135m-instruct"


def on_cpu() -> bool:
    return mx.default_device() == mx.cpu


def resolve(model: str, dequantize: bool = False) -> str:
    """The mlx-lm folder or Hugging Face repo id that ``model`` names."""
    from . import embedded

    if embedded.is_embedded(model):
        return str(embedded.embedded_folder(model, dequantize=dequantize))
    path = Path(model).expanduser()
    if model.lower().endswith(".gguf"):
        if not path.is_file():
            raise UsageError(f"GGUF file not found: {model}")
        from .gguf import cached_gguf_folder

        return str(cached_gguf_folder(path, dequantize=dequantize))
    if path.exists():
        if not (path / "config.json").is_file():
            raise UsageError(f"{model} is not an mlx-lm model folder (no config.json)")
        return str(path)
    if model.startswith((".", "/", "~")) or model.count("/") != 1:
        raise UsageError(
            f"model not found: {model} (not a folder, a .gguf file, "
            f"a Hugging Face repo id, or '{DEFAULT_MODEL}')"
        )
    return model  # a Hugging Face repo id: mlx_lm downloads it


def _cast(model: nn.Module, dtype: mx.Dtype) -> None:
    params = nn.utils.tree_map(
        lambda p: p.astype(dtype) if mx.issubdtype(p.dtype, mx.floating) else p, model.parameters()
    )
    model.update(params)


def load(
    model: str = DEFAULT_MODEL,
    *,
    dequantize: bool | None = None,
    dtype: str | None = None,
    adapter_path: str | None = None,
    lazy: bool = False,
):
    """Load a model and its tokenizer, ready for pruning.

    Args:
        model: ``smollm2-135m-instruct`` (embedded), a ``.gguf`` file, a local mlx-lm folder or
            a Hugging Face repo id.
        dequantize: unpack quantized weights (default: on CPU, where packed matmuls are slow).
        dtype: ``float32``, ``float16`` or ``bfloat16`` for float weights (default float32 on
            CPU, unchanged elsewhere).
        adapter_path: an mlx-lm LoRA adapter folder.
        lazy: leave weights memory-mapped until first use.

    Returns:
        ``(model, tokenizer)``, as ``mlx_lm.load`` does.
    """
    from mlx_lm import load as mlx_lm_load

    cpu = on_cpu()
    dequantize = cpu if dequantize is None else dequantize
    path = resolve(model, dequantize=dequantize)
    try:
        net, tokenizer, config = mlx_lm_load(path, lazy=True, return_config=True)
    except (OSError, ValueError, json.JSONDecodeError) as e:
        raise UsageError(f"could not load {model}: {str(e).splitlines()[0]}") from None
    source_fp = fingerprint(net)  # adapters may retrain norms: keep the source's identity
    if adapter_path is not None:
        _apply_adapters(net, adapter_path)
    if dequantize:
        dequantize_model(net)
        config.pop("quantization", None)
        config.pop("quantization_config", None)
    if dtype is None and cpu:
        dtype = "float32"
    if dtype is not None:
        if dtype not in ("float32", "float16", "bfloat16"):
            raise UsageError(f"--dtype must be float32, float16 or bfloat16, got {dtype!r}")
        _cast(net, getattr(mx, dtype))
    ffn.spec_of(net)  # refuse an architecture without a prunable FFN, now
    if not lazy:
        mx.eval(net.parameters())
    net.eval()
    record_origin(
        net,
        {
            "model": model,
            "path": path,
            "config": config,
            "fingerprint": source_fp,
            "adapter_path": adapter_path,
        },
    )
    return net, tokenizer


def _apply_adapters(net: nn.Module, adapter_path: str) -> None:
    """mlx-lm adapters (LoRA or full) from a finetune folder; a predictor-only folder has none."""
    from mlx_lm.utils import load_adapters

    folder = Path(adapter_path)
    if not folder.is_dir():
        raise UsageError(f"adapter folder not found: {adapter_path}")
    if (folder / "adapters.safetensors").is_file():
        try:
            load_adapters(net, str(folder))
        except (OSError, ValueError, KeyError) as e:
            raise UsageError(
                f"could not load adapters from {folder}: {str(e).splitlines()[0]}"
            ) from None
    elif not (folder / "ifp_config.json").is_file():
        raise UsageError(f"{folder} holds neither adapters nor a predictor")
