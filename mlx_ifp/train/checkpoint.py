"""Training checkpoints: one folder, written atomically, that both resumes a run and serves as
the ``--adapter`` folder of ``generate``.

Contents: ``predictor.safetensors`` + ``ifp_config.json`` (the predictor, its source model and
budget), ``adapters.safetensors`` + ``adapter_config.json`` (mlx-lm format, LoRA or full),
``trainer_state.safetensors`` (optimizer states) and ``trainer_state.json`` (step, data position,
seed, loss history, the run's config).
"""

from __future__ import annotations

import json
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
from mlx.utils import tree_flatten, tree_unflatten

from ..errors import UsageError
from ..paths import atomic_dir
from ..sources.predictor import Predictor, save_predictor, update_config

STATE_JSON = "trainer_state.json"
STATE_ARRAYS = "trainer_state.safetensors"
ADAPTERS = "adapters.safetensors"


def adapter_config(cfg) -> dict:
    """mlx-lm's ``adapter_config.json`` for the LLM part (``load_adapters`` reads it)."""
    return {
        "fine_tune_type": cfg.train,
        "num_layers": cfg.lora_layers,
        "lora_parameters": {
            "rank": cfg.lora_rank,
            "scale": cfg.lora_scale,
            "dropout": cfg.lora_dropout,
            **({"keys": list(cfg.lora_keys)} if cfg.lora_keys else {}),
        },
    }


def save(
    folder: str | Path,
    predictor: Predictor,
    llm: nn.Module,
    optimizers: dict,
    state: dict,
    ifp: dict,
    cfg,
) -> Path:
    """Write the whole checkpoint folder atomically (temporary folder, then rename)."""
    folder = Path(folder)
    with atomic_dir(folder) as tmp:
        save_predictor(predictor, tmp)
        update_config(tmp, **ifp)
        if cfg.train != "frozen":
            weights = dict(tree_flatten(llm.trainable_parameters()))
            mx.save_safetensors(str(tmp / ADAPTERS), weights)
            (tmp / "adapter_config.json").write_text(json.dumps(adapter_config(cfg), indent=2))
        arrays = {}
        for name, opt in optimizers.items():
            for k, v in tree_flatten(opt.state):
                arrays[f"{name}.{k}"] = v
        mx.save_safetensors(str(tmp / STATE_ARRAYS), arrays)
        (tmp / STATE_JSON).write_text(json.dumps(state, indent=2, default=str))
    return folder


def read_state(folder: str | Path) -> dict:
    """The ``trainer_state.json`` of a checkpoint folder."""
    path = Path(folder) / STATE_JSON
    if not path.is_file():
        raise UsageError(f"not a training checkpoint (no {STATE_JSON}): {folder}")
    return json.loads(path.read_text())


def restore(folder: str | Path, predictor: Predictor, llm: nn.Module, optimizers: dict) -> dict:
    """Load predictor, adapters and optimizer states from ``folder``; return its state dict."""
    folder = Path(folder)
    state = read_state(folder)
    predictor.load_weights(str(folder / "predictor.safetensors"), strict=True)
    if (folder / ADAPTERS).is_file():
        llm.load_weights(str(folder / ADAPTERS), strict=False)
    arrays = mx.load(str(folder / STATE_ARRAYS))
    for name, opt in optimizers.items():
        prefix = f"{name}."
        items = [(k[len(prefix) :], v) for k, v in arrays.items() if k.startswith(prefix)]
        if items:
            opt.state = tree_unflatten(items)
    mx.eval(predictor.parameters(), llm.parameters(), [o.state for o in optimizers.values()])
    return state
