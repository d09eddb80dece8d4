"""A training run's checkpoints: one folder, written atomically, that resumes the run and is
``generate``'s ``--adapter`` folder (the run's settings are ``config``).

Contents: ``predictor.safetensors`` + ``ifp_config.json`` (the predictor, its source model and
budget), ``adapters.safetensors`` + ``adapter_config.json`` (mlx-lm format, LoRA or full),
``trainer_state.safetensors`` (optimizer states), ``trainer_state.json`` (step, data position,
the split files read (``data_files``: a resumed run names one changed since), seed, loss
history, config, the sha256 of each safetensors file: a corrupted one is named, not resumed
from), ``test.json`` (``--test``'s score of this step; a later save drops it), and
whatever else a user put there (carried into each new save). ``--resume``
checks the folder is whole before loading any model, then that it fits this model, budget,
predictor and LLM setup; a failed save (full disk) replaces nothing.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import os
import shutil
import sys
import warnings
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
from mlx.utils import tree_flatten, tree_unflatten

from ..core import (
    UsageError,
    atomic_dir,
    atomic_file,
    check_writable,
    first_line,
    read_json,
    read_safetensors,
    sha256_file,
    sweep_leftovers,
)
from ..sources.predictor import CONFIG_FILE, Predictor, read_config, save_predictor, update_config
from .config import FILLED_IN, adapter_config, local_path

STATE_JSON = "trainer_state.json"
STATE_ARRAYS = "trainer_state.safetensors"
TEST_JSON = "test.json"  # --test's score of the checkpoint's step
ADAPTERS = "adapters.safetensors"
CHECKSUMS = "sha256"
#: what every checkpoint holds, and what one that trained the LLM (lora, full) holds besides
REQUIRED = (STATE_JSON, "predictor.safetensors", CONFIG_FILE, STATE_ARRAYS)
LLM_FILES = (ADAPTERS, "adapter_config.json")
#: run settings that shape the trained weights: a resumed run must keep the checkpoint's
FIXED = (
    "stage", "train", "lora_layers", "lora_rank", "lora_scale", "lora_keys", "repick",
    "repick_share", "task_share", "seed",  # the seed: the rest of the epoch's batch order
)  # fmt: skip


class Refused(UsageError):
    """What the other ranks raise when rank 0's work (its output check, a save) failed: every
    rank stops, none is left in a collective rank 0 never joins; rank 0's error says why."""


def on_rank0(work, group) -> None:
    """``work()`` on rank 0 alone, then a barrier: if it raised, rank 0 raises that and every
    other rank ``Refused``."""
    failed = None
    if group.rank() == 0:
        try:
            work()
        except Exception as e:  # the others must hear of it, whatever it is
            failed = e
    if group.size() > 1:
        flag = mx.distributed.all_sum(mx.array([failed is not None], mx.int32), group=group)
        if flag.item() and failed is None:
            failed = Refused("rank 0 stopped the run (its error says why)")
    if failed is not None:
        raise failed


def check_output(cfg) -> None:
    """Refuse an output folder whose replacement would delete what is not a checkpoint (the
    data folder or one above it, a non-empty folder of other files); sweep what a killed run
    left there."""
    check_writable(cfg.output, folder=True, ours=(STATE_JSON, CONFIG_FILE))
    out = Path(cfg.output).expanduser().resolve()
    if cfg.data and Path(cfg.data).expanduser().resolve().is_relative_to(out):
        raise UsageError(f"output {cfg.output} holds the data folder {cfg.data}: name a new folder")
    for folder in {cfg.output, cfg.resume or cfg.output}:
        sweep_leftovers(folder)


def keep_others(folder: Path, tmp: Path) -> None:
    """Carry what else ``folder`` holds (a user's notes, plots) into its replacement ``tmp``:
    hard-linked, or copied where the file system has no links. An earlier run's checkpoint
    files (a LoRA run's adapters, in a frozen run) stay behind; so do pipes and sockets, and
    what cannot be read is named in a warning, not lost in silence."""
    for entry in folder.iterdir() if folder.is_dir() else ():
        if entry.name in {*REQUIRED, *LLM_FILES, TEST_JSON} or (tmp / entry.name).exists():
            continue
        try:
            if entry.is_dir() and not entry.is_symlink():
                shutil.copytree(entry, tmp / entry.name, symlinks=True, copy_function=_link)
            elif entry.is_file() or entry.is_symlink():
                _link(entry, tmp / entry.name)
        except OSError as e:
            print(
                f"Warning: {entry} is not in the new checkpoint ({first_line(e)})", file=sys.stderr
            )


def _link(src, dst) -> None:
    """A hard link of a file (a copy where the file system has none); a symlink as a symlink."""
    if Path(src).is_symlink():
        return shutil.copy2(src, dst, follow_symlinks=False)
    try:
        os.link(src, dst)
    except OSError:
        shutil.copy2(src, dst)


def saved_config(cfg) -> dict:
    """The settings a checkpoint keeps: local paths absolute (a model path only if it exists),
    so a run resumed from another folder reads and writes where it did."""
    out = dataclasses.asdict(cfg)
    for name in ("model", "data", "output", "init_from", "resume"):
        if out[name] and (name != "model" or Path(out[name]).expanduser().exists()):
            out[name] = str(Path(out[name]).expanduser().resolve())
    return out


def save(
    folder: str | Path,
    predictor: Predictor,
    llm: nn.Module,
    optimizers: dict,
    state: dict,
    ifp: dict,
    cfg,
) -> Path:
    """Write the whole checkpoint folder atomically (temporary folder, then rename); a failed
    write (a full disk: ``OSError``, MLX's ``RuntimeError``) leaves it as it was: a UsageError."""
    folder = Path(folder)
    try:
        with atomic_dir(folder) as tmp:
            save_predictor(predictor, tmp)
            update_config(tmp, **ifp)
            if cfg.train != "frozen":
                weights = dict(tree_flatten(llm.trainable_parameters()))
                mx.save_safetensors(str(tmp / ADAPTERS), weights)
                (tmp / "adapter_config.json").write_text(json.dumps(adapter_config(cfg), indent=2))
            arrays = {
                f"{n}.{k}": v for n, o in optimizers.items() for k, v in tree_flatten(o.state)
            }
            mx.save_safetensors(str(tmp / STATE_ARRAYS), arrays)
            sums = {f.name: sha256_file(f) for f in sorted(tmp.glob("*.safetensors"))}
            text = json.dumps({**state, CHECKSUMS: sums}, indent=2, default=str)
            (tmp / STATE_JSON).write_text(text)
            keep_others(folder, tmp)
    except (OSError, RuntimeError) as e:
        raise UsageError(
            f"cannot save the checkpoint to {folder} ({first_line(e)}): nothing there was "
            "replaced; free some space or choose another --output"
        ) from None
    return folder


def save_test(folder: str | Path, said: dict) -> None:
    """Write ``--test``'s score into the run ``folder`` (atomically), quiet or not."""
    try:
        with atomic_file(Path(folder) / TEST_JSON) as tmp:
            tmp.write_text(json.dumps(said, indent=2) + "\n")
    except OSError as e:
        raise UsageError(f"cannot write {TEST_JSON} in {folder} ({first_line(e)})") from None


def read_state(folder: str | Path) -> dict:
    """The ``trainer_state.json`` of a checkpoint folder (a one-line UsageError if broken)."""
    folder = Path(folder).expanduser()  # `--resume "~/run"` (no config): no shell expanded it
    if not folder.exists() and mx.distributed.init().rank() == 0:  # killed between the renames
        sweep_leftovers(folder)  # of a save: the checkpoint is put back (as a run's start does)
    if said := mlx_lm_adapter(folder):
        raise UsageError(said)
    if folder.is_file():  # mlx_lm's --resume-adapter-file takes a file
        raise UsageError(f"not a training checkpoint: {folder} is a file (give its folder)")
    if not folder.is_dir():
        raise UsageError(f"not a training checkpoint: {folder} does not exist")
    if not (folder / STATE_JSON).is_file():
        raise UsageError(f"not a training checkpoint (no {STATE_JSON}): {folder}")
    state = read_json(folder / STATE_JSON, "checkpoint state")
    step, config = state.get("step"), state.get("config")
    if not isinstance(step, int) or step < 0 or not isinstance(state.get("history"), list):
        raise UsageError(f"{folder / STATE_JSON} is broken (no valid step and loss history)")
    if not isinstance(config, dict):
        raise UsageError(f"{folder / STATE_JSON} is broken (no run config)")
    return state


def mlx_lm_adapter(path: Path) -> str:
    """What to do with an `mlx_lm lora` adapter (its folder, or a weights file in it) given as a
    run of this command (--resume, --init-from); "" if ``path`` is none. Its LoRA was trained
    on the source as it is, so the source to prune is the model with it fused in."""
    folder = path.parent if path.is_file() else path
    if any((folder / f).is_file() for f in (CONFIG_FILE, STATE_JSON)):  # ours, if broken
        return ""
    if not (folder / "adapter_config.json").is_file():
        return ""
    return (
        f"{path} is an mlx_lm lora adapter, not a run of this command: fuse it into its model "
        f"(mlx_lm.fuse --model MODEL --adapter-path {folder} --save-path FUSED) and train from "
        "that (--model FUSED)"
    )


def verify(folder: str | Path, state: dict | None = None) -> dict:
    """Check that a checkpoint has all its files and that every safetensors file matches the
    sha256 its state recorded; return the state."""
    folder = Path(folder)
    state = state if state is not None else read_state(folder)
    sums = state.get(CHECKSUMS) or {}
    llm = LLM_FILES if state["config"].get("train", "frozen") != "frozen" else ()
    for name in dict.fromkeys([*REQUIRED, *llm, *sums]):
        if not (folder / name).is_file():
            raise UsageError(
                f"checkpoint {folder} is incomplete: {name} is missing (resume from an earlier "
                "copy of the folder, or start again)"
            )
    for name, digest in sums.items():
        path = folder / name
        if sha256_file(path) != digest:
            raise UsageError(
                f"checkpoint file {path} is corrupted (its sha256 differs from the one saved "
                "with it): resume from an earlier copy of the folder, or start again"
            )
    return state


def check_source(folder: Path, ifp: dict) -> dict:
    """Refuse weights made for another model or budget; return the folder's ``ifp_config``."""
    folder = Path(folder)
    saved = read_config(folder)
    was, now = saved.get("source") or {}, ifp["source"]
    if any(was.get(key, value) != value for key, value in now.items() if key != "model"):
        raise UsageError(
            f"checkpoint {folder} was made for another model ({was.get('model')}: "
            f"{was.get('model_type')}, {was.get('layers')}x{was.get('d_ffn')} FFN channels), "
            f"not {now['model']}: resume with that model, or start again"
        )
    if saved.get("k", ifp["k"]) != ifp["k"]:
        raise UsageError(
            f"checkpoint {folder} was trained to keep {saved.get('keep')} ({saved['k']} channels "
            f"per layer), this run keeps {ifp['keep']} ({ifp['k']}): resume with --keep "
            f"{saved.get('keep')}, or start again"
        )
    return saved


def check_fits(folder: str | Path, state: dict, ifp: dict, predictor: dict, cfg) -> None:
    """Refuse to resume a checkpoint made for another model, budget, predictor or LLM setup
    (``ifp``, ``predictor``: what this run would save; ``state``: the checkpoint's)."""
    folder = Path(folder)
    saved = check_source(folder, ifp)
    old, theirs = state["config"], dict(saved.get("predictor") or {})
    if isinstance(theirs.get("backbone"), str):  # an older run's relative path, absolute here
        theirs["backbone"] = local_path(theirs["backbone"])
    diff = [(n, old[n], getattr(cfg, n)) for n in FIXED if n in old and old[n] != getattr(cfg, n)]
    diff = [d for d in diff if d[0] != "lora_layers" or span(d[1], ifp) != span(d[2], ifp)]
    diff += [
        (f"predictor {n}", theirs[n], v) for n, v in predictor.items() if theirs.get(n, v) != v
    ]
    if diff:
        said = ", ".join(f"{n} {a!r} (this run: {b!r})" for n, a, b in diff[:3])
        raise UsageError(
            f"checkpoint {folder} was made with other settings: {said}; resume with its own "
            "settings, or start again"
        )
    # data moves, and a model of the same shape and norms (a LoRA fused in) has the same
    # fingerprint: said, not refused
    now = saved_config(cfg)
    for name, verb in (("data", "reads"), ("model", "loads")):
        if old.get(name) and old[name] != now[name] and mx.distributed.init().rank() == 0:
            print(f"Warning: {folder} was trained on {old[name]}, this run {verb} {now[name]}",
                  file=sys.stderr)  # fmt: skip


def span(lora_layers, ifp: dict):
    """The LoRA layers a count names: -1, and any count from the model's up, all of them (30
    and -1 on a 30-layer model, 30 on a 28-layer one: the same run)."""
    n = ifp["source"].get("layers")
    whole = isinstance(lora_layers, int) and isinstance(n, int) and not 0 <= lora_layers <= n
    return n if whole else lora_layers


def restore(
    folder: str | Path, predictor: Predictor, llm: nn.Module, optimizers: dict, state=None
) -> dict:
    """Load predictor, adapters and optimizer states from ``folder``; return its state dict
    (``state``: what ``verify`` returned for it, else it is read and verified here)."""
    folder = Path(folder)
    state = state if state is not None else verify(folder)
    load_weights(folder, predictor, llm)
    arrays = read_safetensors(folder / STATE_ARRAYS, "optimizer state") if optimizers else {}
    for name, opt in optimizers.items():
        prefix, rates = f"{name}.", {k: v for k, v in opt.state.items() if k != "step"}
        items = [(k[len(prefix) :], v) for k, v in arrays.items() if k.startswith(prefix)]
        if items:  # its step and moments; the rates are this run's (a changed flag holds)
            opt.state = {**tree_unflatten(items), **rates}
    mx.eval(predictor.parameters(), llm.parameters(), [o.state for o in optimizers.values()])
    return state


def load_weights(folder: str | Path, predictor: Predictor, llm: nn.Module) -> None:
    """Load a run's predictor and adapters (a checkpoint, or a float16 pack as shipped) into
    ``predictor`` and ``llm``, each array cast to the dtype of the parameter it replaces."""
    folder = Path(folder)
    parts = [(predictor, folder / "predictor.safetensors", True)]
    if (folder / ADAPTERS).is_file():
        parts.append((llm, folder / ADAPTERS, False))
    for module, path, strict in parts:
        current = dict(tree_flatten(module.parameters()))
        weights = read_safetensors(path, "checkpoint weights")
        bad = [k for k, v in weights.items() if k not in current or v.shape != current[k].shape]
        missing = strict and set(current) - set(weights)
        if bad or missing:
            what = f"{bad[0]} is not a parameter of that shape" if bad else "it lacks some"
            raise UsageError(
                f"checkpoint {folder} does not fit this model and settings ({path.name}: {what})"
            )
        module.load_weights([(k, v.astype(current[k].dtype)) for k, v in weights.items()], strict)


def init_weights(
    folder: str | Path, predictor: Predictor, llm: nn.Module, ifp: dict, cfg=None
) -> None:
    """``init_from``: start from another run's predictor and adapters (a checkpoint or a
    float16 pack, no optimizer state needed), refused if made for another model or budget, or
    (``cfg``: this run's settings) if this run would not train its LLM weights as they were."""
    folder = Path(folder)
    if said := mlx_lm_adapter(folder):
        raise UsageError(said)
    if not (folder / CONFIG_FILE).is_file():
        raise UsageError(f"cannot start from {folder}: no {CONFIG_FILE} (not a trained run)")
    saved = check_source(folder, ifp)
    if cfg is not None and (folder / ADAPTERS).is_file():
        check_llm_start(folder, saved.get("train"), cfg)
    try:
        load_weights(folder, predictor, llm)
    except UsageError as e:  # which predictor settings made the shapes differ, if any did
        theirs, mine = saved.get("predictor") or {}, dataclasses.asdict(predictor.config)
        diff = [f"predictor {n} {theirs[n]!r} there, {v!r} here" for n, v in mine.items()
                if n in theirs and n not in FILLED_IN and theirs[n] != v]  # fmt: skip
        if not diff:
            raise
        raise UsageError(f"{e}: {'; '.join(diff)} (give this run the predictor block of "
                         f"{folder / CONFIG_FILE})") from None  # fmt: skip
    mx.eval(predictor.parameters(), llm.parameters())


def check_llm_start(folder: Path, kind: str | None, cfg) -> None:
    """Refuse LLM weights (``kind``: lora or full) this run would train otherwise: a frozen run
    would train the predictor on them and save none; a checkpoint's LoRA at another scale than
    it trained at is another model (a pack's scale may be an inference setting: not compared)."""
    path = folder / "adapter_config.json"
    kind = kind or (read_json(path, "adapter config") if path.is_file() else {}).get(
        "fine_tune_type", "lora or full"
    )
    if kind != cfg.train:
        lost = ": it would train on those weights and save none" if cfg.train == "frozen" else ""
        raise UsageError(
            f"cannot start from {folder}: it trained the LLM too (train {kind}), this run's LLM "
            f"is {cfg.train}{lost}; use --train {kind} with its settings"
        )
    trained = {}
    if (folder / STATE_JSON).is_file():  # a checkpoint: the scale its LoRA trained at
        with contextlib.suppress(UsageError):  # (a broken one: not compared)
            trained = read_json(folder / STATE_JSON, "checkpoint state").get("config")
    scale = trained.get("lora_scale") if isinstance(trained, dict) else None
    if kind == "lora" and isinstance(scale, int | float) and scale != cfg.lora_scale:
        raise UsageError(
            f"cannot start from {folder}: its LoRA trained at lora_scale {scale:g} (this run: "
            f"{cfg.lora_scale:g}), so this run would not continue it; set lora_scale: {scale:g}"
        )


MOVED_TO_CONFIG = ("FinetuneConfig", "load_config", "check", "MASK_FORWARD", "adapter_config")


def __getattr__(name: str):
    """The settings' old home (``mlx_ifp.train.checkpoint.load_config``): still importable."""
    if name not in MOVED_TO_CONFIG:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    warnings.warn(
        f"mlx_ifp.train.checkpoint.{name} moved to mlx_ifp.train.config.{name}",
        DeprecationWarning,
        stacklevel=2,
    )
    from . import config

    return getattr(config, name)
