"""Resolve a model name to (model, tokenizer): the embedded default, a .gguf file, or mlx-lm.

Every route ends in ``mlx_lm.load`` of a standard mlx-lm folder; GGUF files and the embedded
model are converted to one once and cached.
"""

from __future__ import annotations

import contextlib
import copy
import json
import os
import weakref
from collections import OrderedDict
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
from mlx_lm.utils import dequantize_model

from ..core import (
    HELD,
    UsageError,
    check_dtype,
    check_fingerprint,
    check_safetensors,
    exported_width,
    fingerprint,
    first_line,
    origin,
    own_tree,
    random_state_kept,
    read_json,
    record_origin,
    sha256_file,
    spec_of,
)
from . import embedded

DEFAULT_MODEL = "smollm2-135m-instruct"


def on_cpu() -> bool:
    return mx.default_device() == mx.cpu


def export_note(model) -> str:
    """For a model loaded from an export of a pruned model (``mlx_ifp export``: its config's
    ``mlx_ifp`` record keeps fewer FFN channels than its source had), or a slim model made here
    (``prune`` records the same, and the mask as ``pruned_by``), a line saying so; else ""."""
    if (width := exported_width(model)) is None:
        return ""
    info = origin(model, required=False)  # (a slim model of a model not loaded here too)
    made = info.get("pruned_by")
    mask = info["config"]["mlx_ifp"].get("mask") if made is None else made.digest()
    return (f"{'Exported pruned' if made is None else 'Pruned'} to {width[0]} of {width[1]} FFN "
            f"channels per layer (mask {mask}): run as written; a named mask source prunes it "
            "again")  # fmt: skip


def check_model(model: str) -> str:
    """What ``model`` names, without loading or converting it: ``"embedded"``, ``"gguf"``,
    ``"folder"`` or ``"repo"`` (a Hugging Face id); a name that is none of them is refused."""
    if not isinstance(model, str | os.PathLike):
        raise UsageError(f"model must be a name or a path, got {type(model).__name__}")
    model = os.fspath(model)
    if not str(model).strip():  # Path("") is the current folder: `--model "$M"` with M unset
        raise UsageError(f"the model name is empty: give a model folder, a .gguf file, a "
                         f"Hugging Face repo id, or '{DEFAULT_MODEL}'")  # fmt: skip
    if embedded.is_embedded(model):
        return "embedded"
    path = Path(model).expanduser()
    if model.lower().endswith(".gguf") and not path.is_dir():  # a folder: `export -o x.gguf`
        if not path.is_file():
            raise UsageError(f"GGUF file not found: {model}")
        return "gguf"
    if path.is_file():  # a GGUF file of another name (Ollama's blobs/sha256-...; llama.cpp
        with contextlib.suppress(OSError), open(path, "rb") as f:  # takes any), by its magic
            if f.read(4) == b"GGUF":
                return "gguf"
        raise UsageError(  # a model's own file (its config.json)
            f"{model} is a file, not an mlx-lm model folder (give the folder holding "
            "config.json, or a GGUF file)"
        )
    if path.exists():
        if not (path / "config.json").is_file():  # llama.cpp user's folder: its GGUF (no ._X) named
            found = next((f"; its GGUF file: {f}" for f in sorted(path.glob("[!.]*.gguf"))), "")
            raise UsageError(f"{model} is not an mlx-lm model folder (no config.json{found})")
        return "folder"
    if model.startswith((".", "/", "~")) or model.count("/") != 1:
        raise UsageError(
            f"model not found: {model} (not a folder, a .gguf file, a Hugging Face repo id, or "
            f"an embedded model: {', '.join(embedded.EMBEDDED)})"
        )
    return "repo"


def resolve(model: str, dequantize: bool = False) -> str:
    """The mlx-lm folder or Hugging Face repo id that ``model`` names."""
    kind = check_model(model)
    if kind == "embedded":
        return str(embedded.embedded_folder(model, dequantize=dequantize))
    path = Path(model).expanduser()
    if kind == "gguf":
        from .gguf import cached_gguf_folder

        return str(cached_gguf_folder(path, dequantize=dequantize))
    if kind == "folder":
        check_folder(path)
        return str(path)
    return model  # a Hugging Face repo id: mlx_lm downloads it


def check_folder(path: Path) -> None:
    """Refuse a model folder whose config.json or weight files are broken, naming the file."""
    config = read_json(path / "config.json", "model config")
    if not isinstance(config.get("model_type"), str):
        raise UsageError(f"{path / 'config.json'} names no model_type: not an mlx-lm model config")
    for f in sorted(path.glob("*.safetensors")):
        check_safetensors(f, "model weights")


def load(
    model: str | os.PathLike = DEFAULT_MODEL,
    *,
    dequantize: bool | None = None,
    dtype: str | None = None,
    adapter_path: str | os.PathLike | None = None,
    lazy: bool = False,
    tokenizer_config: dict | None = None,
    model_config: dict | None = None,
    return_config: bool = False,
    revision: str | None = None,
    trust_remote_code: bool = False,
):
    """Load a model and its tokenizer, ready for pruning.

    Args:
        model: ``smollm2-135m-instruct`` or ``qwen2.5-coder-1.5b-instruct`` (embedded), a
            ``.gguf`` file, a local mlx-lm folder or a Hugging Face repo id.
        dequantize: unpack quantized weights (default: on CPU, where packed matmuls are slow).
        dtype: ``float32``, ``float16`` or ``bfloat16`` for float weights (default float32 on
            CPU, unchanged elsewhere).
        adapter_path: an adapter folder (a ``finetune`` output), or ``"default"`` for the
            predictor + LoRA shipped with an embedded model (the keep-0.5 one; for another
            budget load without it and let ``Pruner(..., keep=...)`` pick the nearest).
        lazy: leave weights memory-mapped until first use.
        tokenizer_config, model_config, return_config, revision, trust_remote_code: as
            ``mlx_lm.load`` takes them (``revision`` for a Hugging Face repo id only).

    Returns:
        ``(model, tokenizer)``, or ``(model, tokenizer, config)`` with ``return_config=True``,
        as ``mlx_lm.load`` does.
    """
    from mlx_lm import load as mlx_lm_load

    for name, value in (("model", model), ("adapter_path", adapter_path)):
        if not isinstance(value, str | os.PathLike) and (value is not None or name == "model"):
            raise UsageError(f"{name} must be a name or a path, got {type(value).__name__}")
    flags = {"dequantize": dequantize, "lazy": lazy, "return_config": return_config}
    for name, value in {**flags, "trust_remote_code": trust_remote_code}.items():
        if not isinstance(value, bool) and (value is not None or name != "dequantize"):
            raise UsageError(f"{name} must be True or False, got {value!r:.40}")  # "no" too
    for name, value in (("tokenizer_config", tokenizer_config), ("model_config", model_config)):
        if not isinstance(value, dict | None):
            raise UsageError(f"{name} must be a dict (or None), got {value!r:.40}")
    model = os.fspath(model)  # a Path works, as in mlx_lm.load
    adapter_path = None if adapter_path is None else os.path.expanduser(os.fspath(adapter_path))
    if adapter_path is not None and not adapter_path.strip():  # not the current folder
        raise UsageError("adapter_path is empty: give an adapter folder or None")
    kind = check_model(model)  # what is refused, before the (slow) load or conversion
    check_dtype(dtype)
    if revision is not None and not isinstance(revision, str):
        raise UsageError(f"revision must be a branch, tag or commit (a str), got {revision!r:.40}")
    if revision is not None and kind != "repo":  # (mlx-lm ignores it for a folder)
        raise UsageError(f"revision is for a Hugging Face repo id, not {model!r:.60}")
    if adapter_path == "default":  # the predictor + LoRA shipped with an embedded model
        from .embedded import default_adapter

        shipped = default_adapter(model)
        if shipped is None:
            raise UsageError(f"no default adapter ships with {model!r}")
        adapter_path = str(shipped)
    elif adapter_path is not None and not Path(adapter_path).is_dir():
        raise _no_folder(adapter_path)
    cpu = on_cpu()
    dequantize = cpu if dequantize is None else dequantize
    path = resolve(model, dequantize=dequantize)
    try:
        options = {"tokenizer_config": tokenizer_config, "model_config": model_config}
        options.update(revision=revision, trust_remote_code=trust_remote_code)
        with embedded.globbable(path) as plain:  # (mlx-lm globs it: `[` found no weights)
            net, tokenizer, config = mlx_lm_load(plain, lazy=True, return_config=True, **options)
    except Exception as e:  # what bad files raise (transformers' strict configs their own)
        from huggingface_hub import errors as hub

        strict = getattr(hub, "StrictDataclassError", OSError)  # (huggingface_hub >= 0.31)
        if not isinstance(e, (OSError, ValueError, RuntimeError, KeyError, TypeError, strict)):
            raise  # a bug, not the files: its traceback
        why = embedded.why_not_loaded(e, kind, path)  # (the first line of the error, or why)
        raise UsageError(f"could not load {model}: {why}") from None
    source_fp = fingerprint(net)  # adapters may retrain norms: keep the source's identity
    floats = {k: p.dtype for k, p in nn.utils.tree_flatten(net.parameters())}  # str: deepcopy-safe
    floats = {k: str(d).split(".")[-1] for k, d in floats.items() if mx.issubdtype(d, mx.floating)}
    if adapter_path is not None:  # a full run's weights unpack a packed model: all float
        dequantize = _apply_adapters(net, adapter_path, config.get("mlx_ifp")) or dequantize
    if dequantize:  # mlx-lm's new Linear layers draw weights: the caller's --seed is kept
        with random_state_kept():
            dequantize_model(net)
        config.pop("quantization", None)
        config.pop("quantization_config", None)
    cast_from = None  # the source's float dtype (several: each by name, float16 matrices and
    if dtype is None and cpu:  # float32 norms), when only the CPU's default changed it: export
        dtype = "float32"  # writes it back (float32 there is for speed, not the model)
        if (kinds := set(floats.values())) - {dtype}:
            cast_from = kinds.pop() if len(kinds) == 1 else floats
    if dtype is not None:
        net.set_dtype(getattr(mx, dtype))  # its floating parameters only
    spec_of(net)  # refuse an architecture without a prunable FFN, now
    if not lazy:
        mx.eval(net.parameters())
    net.eval()
    record_origin(
        net,
        {
            "model": model,
            "embedded": kind == "embedded",  # not a folder of the name in a later current folder
            "license": kind == "embedded" and embedded.EMBEDDED[model.lower()].get("license"),
            "path": path,
            "revision": revision,  # a repo id's: the snapshot export reads its files from
            "config": config,
            "fingerprint": source_fp,
            "adapter_path": adapter_path,
            "cast_from": cast_from,
        },
    )
    return (net, tokenizer, copy.deepcopy(config)) if return_config else (net, tokenizer)


def _apply_adapters(net: nn.Module, adapter_path: str, note=None) -> bool:
    """mlx-lm adapters (LoRA or full) from a finetune folder; a predictor-only folder has none.
    Adapters are refused as another model's when the folder records a source model that is not
    ``net`` (those of a model of the same shapes fit, and would be applied silently), or when
    ``net`` is an export (its config's ``mlx_ifp`` ``note``) that fused them in already. Full
    weights (float) go on a packed ``net`` unpacked first: True then."""
    from mlx_lm.utils import load_adapters

    folder = Path(adapter_path)
    if not folder.is_dir():
        raise _no_folder(adapter_path)
    if (folder / "adapters.safetensors").is_file():
        check_safetensors(folder / "adapters.safetensors", "adapter weights")
        read_json(folder / "adapter_config.json", "adapter config")
        _refuse_other_model(folder, net)
        note = note if isinstance(note, dict) else {}  # its weights' hash, or an older export's
        sha, fused = note.get("adapter_sha256"), note.get("adapter")  # (absolute) path
        if (sha == sha256_file(folder / "adapters.safetensors")[:16] if isinstance(sha, str)
                else isinstance(fused, str) and Path(fused).is_absolute()
                and Path(fused).resolve() == folder.resolve()):  # fmt: skip
            raise UsageError(f"this model holds the weights of {folder} already (an export that "
                             f"fused them): leave out the adapter, or load the source, "
                             f"{note.get('source')}, with it")  # fmt: skip
        unpack = trained_llm(folder) == "full"  # (lazily: the run's weights replace them)
        try:  # the LoRA layers start random, then load: the caller's random state is kept
            with random_state_kept():
                if unpack:
                    dequantize_model(net)
                load_adapters(net, str(folder))
        except (OSError, ValueError, KeyError, RuntimeError, TypeError) as e:
            raise UsageError(f"could not load adapters from {folder}: {first_line(e)}") from None
        return unpack
    elif not (folder / "ifp_config.json").is_file():
        raise UsageError(f"{folder} holds neither adapters nor a predictor")
    elif (trained := trained_llm(folder)) is not None:  # its predictor expects the trained LLM
        raise UsageError(
            f"{folder} records {trained} LLM weights but adapters.safetensors is missing"
        )
    elif (folder / "adapter_config.json").is_file():  # written before ``train`` was recorded
        raise UsageError(f"{folder} has adapter_config.json but adapters.safetensors is missing")


def _no_folder(path: str) -> UsageError:
    """An adapter folder that is not one: missing, or a file in it (``adapters.safetensors``)."""
    if Path(path).is_file():
        return UsageError(f"{path} is a file: give the adapter folder that holds it")
    return UsageError(f"adapter folder not found: {path}")


def _refuse_other_model(folder: Path, net: nn.Module) -> None:
    """A one-line refusal if ``folder``'s ``ifp_config.json`` records a source model that is
    not ``net`` (a config that cannot be read says nothing: the caller's error follows)."""
    recorded = _read_json(folder / "ifp_config.json").get("predictor")
    recorded = recorded.get("model") if isinstance(recorded, dict) else None
    if isinstance(recorded, dict):
        check_fingerprint(recorded, net, f"the adapters in {folder} were trained for")


def trained_llm(adapter_path: str | Path) -> str | None:
    """How a finetune folder changed the LLM: ``lora``, ``dora``, ``full``, or None (frozen).

    Read from ``ifp_config.json``'s ``train`` when recorded, else from the presence of
    ``adapters.safetensors`` (and ``adapter_config.json``'s ``fine_tune_type``).
    """
    folder = Path(adapter_path)
    recorded = _read_json(folder / "ifp_config.json").get("train")
    if recorded is not None:
        return None if recorded == "frozen" else str(recorded)
    if not (folder / "adapters.safetensors").is_file():
        return None
    return str(_read_json(folder / "adapter_config.json").get("fine_tune_type", "lora"))


def _read_json(path: Path) -> dict:
    """A JSON object's entries, or none for a missing, unreadable or other file."""
    try:
        value = json.loads(path.read_text(encoding="utf-8")) if path.is_file() else {}
    except (OSError, ValueError):  # ValueError: not JSON, or not UTF-8
        return {}
    return value if isinstance(value, dict) else {}


def adapted_copy(model: nn.Module, adapter_path: str | Path) -> nn.Module:
    """A copy of ``model`` with a finetune folder's LLM adapters (LoRA or full) applied.

    ``model`` itself is unchanged; the copy shares every array the adapters do not replace.
    """
    adapter_path = os.path.expanduser(os.fspath(adapter_path))  # "~/run", as load takes it
    net = own_tree(model, {})  # every module copied, every array shared
    vars(net).pop(HELD, None)  # what is kept for the original (``Kept``) stays its own
    _apply_adapters(net, adapter_path)
    mx.eval(net.parameters())
    net.eval()
    info = {"fingerprint": fingerprint(model), **origin(model, required=False)}
    record_origin(net, {**info, "adapter_path": adapter_path})  # the source's identity
    return net


class _Held:
    """What ``Kept`` keeps for one model (``entries``), held by it, and the model, weakly."""

    def __init__(self, model: nn.Module | None = None):
        self.owner = weakref.ref(model) if model is not None else lambda: None
        self.entries: dict = {}

    def __reduce__(self):  # a deep copy (or pickle) of the model: none of it, not its locks
        return _Held, ()


def _held(model: nn.Module, make: bool = True) -> _Held | None:
    """The ``_Held`` of ``model`` itself, a plain attribute (no parameter, never saved, left off
    its copies): its entries hold the model, a cycle Python's collector frees once its user
    drops it. Made on first use, unless not ``make``."""
    found = vars(model).get(HELD)
    if found is None or found.owner() is not model:  # (a shallow copy's: the original's)
        found = _Held(model) if make else None
        if make:
            object.__setattr__(model, HELD, found)
    return found


class Kept:
    """Entries kept for models, each held by its model (``_held``: freed with it once its user
    drops it), the latest ``put`` listed here in use order, weakly. Callers hold their lock."""

    def __init__(self):
        self.order: OrderedDict[tuple, weakref.ref] = OrderedDict()  # key -> its model's _Held

    def get(self, model: nn.Module, key: tuple):
        return None if (own := _held(model, make=False)) is None else own.entries.get(key)

    def put(self, model: nn.Module, key: tuple, value, limit: int) -> None:
        """``value`` kept for ``model`` under ``key``; the oldest beyond ``limit`` let go."""
        (own := _held(model)).entries[key] = value
        self.order[key] = weakref.ref(own)
        self.order.move_to_end(key)
        for old in [k for k, ref in self.order.items() if ref() is None]:  # models freed
            del self.order[old]
        while len(self.order) > limit:
            old, ref = self.order.popitem(last=False)
            if (dropped := ref()) is not None:
                dropped.entries.pop(old, None)

    def forget(self, model: nn.Module) -> None:
        """Let go of what is kept for ``model`` now (not at the next garbage collection)."""
        if (own := _held(model, make=False)) is not None:
            for key in [k for k, ref in self.order.items() if ref() is own]:
                del self.order[key]
            own.entries.clear()

    def values(self) -> list:
        live = [(k, ref()) for k, ref in self.order.items()]
        return [own.entries[k] for k, own in live if own is not None and k in own.entries]

    def __len__(self) -> int:
        return len(self.values())
