"""Training checkpoints: one folder, written atomically, that both resumes a run and serves as
the ``--adapter`` folder of ``generate``.

Contents: ``predictor.safetensors`` + ``ifp_config.json`` (the predictor, its source model and
budget), ``adapters.safetensors`` + ``adapter_config.json`` (mlx-lm format, LoRA or full),
``trainer_state.safetensors`` (optimizer states) and ``trainer_state.json`` (step, data position,
seed, loss history, the run's config, and the sha256 of every safetensors file beside it,
checked on load so that a corrupted file is named instead of silently resumed from).
"""

from __future__ import annotations

import json
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
from mlx.utils import tree_flatten, tree_unflatten

from ..errors import UsageError
from ..paths import atomic_dir, read_json, read_safetensors, sha256_file
from ..sources.predictor import Predictor, save_predictor, update_config

STATE_JSON = "trainer_state.json"
STATE_ARRAYS = "trainer_state.safetensors"
ADAPTERS = "adapters.safetensors"
CHECKSUMS = "sha256"


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
        sums = {f.name: sha256_file(f) for f in sorted(tmp.glob("*.safetensors"))}
        (tmp / STATE_JSON).write_text(json.dumps({**state, CHECKSUMS: sums}, indent=2, default=str))
    return folder


def read_state(folder: str | Path) -> dict:
    """The ``trainer_state.json`` of a checkpoint folder (a one-line UsageError if broken)."""
    folder = Path(folder)
    if not (folder / STATE_JSON).is_file():
        raise UsageError(f"not a training checkpoint (no {STATE_JSON}): {folder}")
    state = read_json(folder / STATE_JSON, "checkpoint state")
    step, config = state.get("step"), state.get("config")
    if not isinstance(step, int) or step < 0 or not isinstance(state.get("history"), list):
        raise UsageError(f"{folder / STATE_JSON} is broken (no valid step and loss history)")
    if not isinstance(config, dict):
        raise UsageError(f"{folder / STATE_JSON} is broken (no run config)")
    return state


def verify(folder: str | Path, state: dict | None = None) -> None:
    """Check every safetensors file of a checkpoint against the sha256 its state recorded."""
    folder = Path(folder)
    sums = (state if state is not None else read_state(folder)).get(CHECKSUMS) or {}
    for name, digest in sums.items():
        path = folder / name
        if not path.is_file():
            raise UsageError(f"checkpoint {folder} is incomplete: {name} is missing")
        if sha256_file(path) != digest:
            raise UsageError(
                f"checkpoint file {path} is corrupted (its sha256 differs from the one saved "
                "with it): resume from an earlier copy of the folder, or start again"
            )


def restore(folder: str | Path, predictor: Predictor, llm: nn.Module, optimizers: dict) -> dict:
    """Load predictor, adapters and optimizer states from ``folder``; return its state dict."""
    folder = Path(folder)
    state = read_state(folder)
    verify(folder, state)
    weights = read_safetensors(folder / "predictor.safetensors", "checkpoint predictor")
    try:
        predictor.load_weights(list(weights.items()), strict=True)
        if (folder / ADAPTERS).is_file():
            adapters = read_safetensors(folder / ADAPTERS, "checkpoint adapters")
            llm.load_weights(list(adapters.items()), strict=False)
    except ValueError as e:
        raise UsageError(f"checkpoint {folder} does not fit this model and settings: {e}") from None
    arrays = {}
    if optimizers:
        arrays = read_safetensors(folder / STATE_ARRAYS, "checkpoint optimizer state")
    for name, opt in optimizers.items():
        prefix = f"{name}."
        items = [(k[len(prefix) :], v) for k, v in arrays.items() if k.startswith(prefix)]
        if items:
            opt.state = tree_unflatten(items)
    mx.eval(predictor.parameters(), llm.parameters(), [o.state for o in optimizers.values()])
    return state
