"""Write a (slim) model where users run it: an mlx-lm folder with its model card (``export``,
here), or a GGUF file for llama.cpp (``export_gguf``, in ``exporters``)."""

from __future__ import annotations

import copy
import json
import os
import shlex
import shutil
from collections import Counter
from fnmatch import fnmatch
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
from mlx_lm.utils import make_shards, save_config

from ..core import (
    MODEL_FILES,
    REQUANT_MIN_BITS,
    UsageError,
    atomic_dir,
    check_dtype,
    check_writable,
    d_ffn,
    fused_lora,
    not_an_input,
    origin,
)
from .exporters import (
    GGUF_TYPES,
    export_gguf,
    provenance,
    source_folder,
    source_info,
    source_metadata,
)

#: the source's files an export carries: what mlx_lm's save copies (the sampling defaults and
#: stop ids; custom code its config's auto_map names), and its license and notice (matched
#: whatever the case: LICENSE, LICENSE.txt, LICENSE-MODEL, NOTICE.md...)
CARRIED = ("generation_config.json", "*.py", "license*", "licence*", "notice*")


def _packing(m: nn.Module) -> dict:
    return {"group_size": m.group_size, "bits": m.bits, "mode": getattr(m, "mode", "affine")}


def _weights_and_quant(model: nn.Module, config: dict) -> tuple[dict, dict | None]:
    """Flat weights in mlx-lm's layout and their quantization config, read off the modules (a
    model may be ``nn.quantize``d or unpacked after loading): the config's packing, else the
    most common, is the default; a module packed otherwise (a slim 8-bit down projection, a
    fused attention LoRA) is named with its own, a float one beside packed ones (a kept width
    the group size does not divide) as unquantized."""
    weights = dict(nn.utils.tree_flatten(model.parameters()))
    # LoRA layers (shipped or finetuned; slim models hold none) are written fused (mlx_lm fuse);
    # packed ones as slim models fuse them: at 8 bits (at least), not a second 4-bit rounding
    fused = fused_lora(model, bits=REQUANT_MIN_BITS)
    inside = tuple(f"{name}." for name in fused)
    weights = {k: v for k, v in weights.items() if not k.startswith(inside)}
    for name, module in fused.items():
        weights.update({f"{name}.{k}": v for k, v in nn.utils.tree_flatten(module.parameters())})
    modules = {n: m for n, m in model.named_modules() if not n.startswith(inside)}
    modules.update(fused)
    packed = {n: _packing(m) for n, m in modules.items() if "scales" in m and hasattr(m, "bits")}
    if not packed:
        return weights, None
    quant = copy.deepcopy(config.get("quantization"))
    if not isinstance(quant, dict) or "bits" not in quant:
        common = Counter(tuple(p.values()) for p in packed.values()).most_common(1)[0][0]
        quant = dict(zip(("group_size", "bits", "mode"), common, strict=True))
    default = (quant.get("group_size"), quant.get("bits"), quant.get("mode", "affine"))
    for name, module in modules.items():
        if name in packed:
            if tuple(packed[name].values()) != default:
                quant[name] = packed[name]
            elif isinstance(quant.get(name), dict | bool):
                del quant[name]  # packed as the default says
        elif isinstance(module, nn.Linear | nn.Embedding) and name:
            quant[name] = False
    return weights, quant


def export(
    model: nn.Module,
    tokenizer,
    out_dir: str | Path,
    dtype: str | None = None,
    mask=None,
    task: str | None = None,
) -> Path:
    """Save ``model`` (e.g. a slim model from ``prune``) with its tokenizer to ``out_dir``.

    The config is the source's, with ``intermediate_size`` the kept width, plus an ``mlx_ifp``
    entry naming the source model, the mask (``mask``: the ``Mask`` it was pruned with), the
    budget and ``task`` (the description it was picked for); floats in ``dtype``, else the
    source's (not ``load``'s CPU float32). A README.md model card as ``mlx_lm convert`` writes
    one (with the source's license and base model) says what it is and how to run it. The
    source's generation_config.json and ``*.py`` are copied, as mlx_lm's save copies them, and
    its LICENSE / NOTICE files (from its folder, or a Hugging Face repo's snapshot in the hub
    cache). Written to a temporary folder first: a failure leaves nothing behind.
    """
    check_dtype(dtype, "dtype")  # int8 cast every float weight to garbage; fp16 was raw
    if not callable(getattr(tokenizer, "save_pretrained", None)):  # (None: after the weights)
        raise UsageError(f"export needs the model's tokenizer, got {type(tokenizer).__name__}")
    if not isinstance(out_dir, str | os.PathLike) or not str(out_dir).strip():
        raise UsageError(f"the output must be a folder path, got {out_dir!r}")
    check_writable(out_dir, folder=True, ours=MODEL_FILES)  # a model folder is replaced
    not_an_input(str(out_dir))  # but never one the cache holds (an embedded model's conversion)
    out, info = Path(out_dir).expanduser().resolve(), origin(model)
    for name, given in (("source model", info.get("path")), ("input", info.get("adapter_path"))):
        if given and Path(given).expanduser().resolve().is_relative_to(out):
            raise UsageError(f"output {out_dir} holds the {name} {given}: name a new folder")
    config, width = copy.deepcopy(info["config"]), d_ffn(model)
    config["mlx_ifp"] = provenance(model, mask, task)
    front = source_metadata(model)[0]  # (read before the old folder is replaced)
    for part in (config, config.get("text_config") or {}):  # the kept width
        part.update({"intermediate_size": width} if "intermediate_size" in part else {})
    weights, quant = _weights_and_quant(model, config)
    if (dtype := dtype or info.get("cast_from")) is not None:  # undo load's float32
        weights = {k: as_source(k, v, dtype) for k, v in weights.items()}
        if quant is None and isinstance(dtype, str):
            config["torch_dtype"] = dtype
    kinds = {
        str(v.dtype).split(".")[-1] for v in weights.values() if mx.issubdtype(v.dtype, mx.floating)
    }
    if quant is None and "torch_dtype" not in config and len(kinds) == 1:  # a load that cast
        config["torch_dtype"] = kinds.pop()  # nothing (a GPU's): named as the CPU's load has it
    config.pop("quantization_config", None)  # mlx-lm's save_config writes it from this
    config.pop("quantization", None)
    config.update({"quantization": quant} if quant is not None else {})
    out_dir = Path(out_dir).expanduser()  # the path written, as the caller can open it
    with atomic_dir(out_dir) as tmp:
        n, total = len(shards := make_shards(weights)), sum(v.nbytes for v in weights.values())
        names = [f"model-{i + 1:05d}-of-{n:05d}.safetensors" for i in range(n)]
        names = names if n > 1 else ["model.safetensors"]
        index = {"metadata": {"total_size": total}, "weight_map": {}}
        for name, shard in zip(names, shards, strict=True):
            mx.save_safetensors(str(tmp / name), shard, metadata={"format": "mlx"})
            index["weight_map"].update({k: name for k in shard})
        if len(shards) > 1:
            (tmp / "model.safetensors.index.json").write_text(json.dumps(index, indent=2))
        save_config(config, config_path=tmp / "config.json")
        tokenizer.save_pretrained(str(tmp))
        for file in carried(source_folder(model)):  # (a copy: never a link into a hub cache)
            shutil.copyfile(file, tmp / file.name)
        model_card(tmp, out_dir.name, config["mlx_ifp"], front)
    return out_dir


def as_source(name: str, w: mx.array, dtype: str | dict) -> mx.array:
    """A float weight in ``dtype``; a dict of the source's dtypes by name (``load``'s CPU cast
    of a source of several): its own, an unpacked matrix its scales' (a new one as it is)."""
    if not mx.issubdtype(w.dtype, mx.floating):
        return w
    if isinstance(dtype, dict):
        dtype = dtype.get(name) or dtype.get(f"{name.rpartition('.')[0]}.scales") or w.dtype
    return w.astype(getattr(mx, dtype) if isinstance(dtype, str) else dtype)


def carried(folder: Path | None) -> list[Path]:
    """The files of the source ``folder`` (its own, or a repo's hub cache snapshot) that an
    export copies (``CARRIED``)."""
    if folder is None:
        return []
    files = (f for f in sorted(folder.iterdir()) if f.is_file())
    return [f for f in files if any(fnmatch(f.name.lower(), p) for p in CARRIED)]


def model_card(folder: Path, name: str, record: dict, front: dict) -> None:
    """``folder``/README.md as ``mlx_lm convert`` writes it (mlx-lm's own front matter: library
    mlx, pipeline_tag, tags), with the source's license, language, tags and base model
    (``front``), what ``record`` (config.json's ``mlx_ifp`` entry) says was pruned, and how to
    run it with mlx-lm and with mlx_ifp."""
    from huggingface_hub import ModelCard
    from mlx_lm.utils import create_model_card

    create_model_card(folder, None)  # (None: no Hugging Face repo to read; offline)
    card = ModelCard.load(folder / "README.md")
    front = {
        **front,
        "tags": list(dict.fromkeys([*front.get("tags", []), *(card.data.tags or [])])),
    }
    if len(front.get("base_model", ())) == 1:  # one: named alone, as mlx-lm names it
        front["base_model"] = front["base_model"][0]
    for key, value in front.items():
        setattr(card.data, key, value)
    card.text = card_text(name, record)
    card.save(folder / "README.md")


def card_text(name: str, record: dict) -> str:
    """The model card's text: what the export is, from config.json's ``mlx_ifp`` entry."""
    source = f"`{record.get('source')}`" if record.get("source") else "a model"
    picker = str(record.get("mask_source")).partition("(")[0]  # predictor(FOLDER): predictor
    k, d = record.get("k"), record.get("d_ffn")  # (keep 1.0: a mask that keeps every channel)
    pruned = bool(record.get("mask")) and type(k) is int and type(d) is int and k < d
    if pruned:
        what = (
            f"{source}, pruned by instruction-following pruning (mlx_ifp): each "
            f"layer's FFN keeps {record.get('k')} of its {record.get('d_ffn')} channels "
            f"(keep {record.get('keep')}), picked by the `{picker}` mask source "
            f"(mask `{record.get('mask')}`)"
        )
    else:
        what = f"{source}, written whole by mlx_ifp (no FFN channel pruned)"
    lines, run = ["", f"# {name}", "", f"This model is {what}."], shlex.quote(name)
    run = shlex.quote(f"./{name}") if name.startswith("-") else run  # not read as an option
    if record.get("adapter"):  # (its folder's name; the hash tells a copy or a retrained run)
        sha = f", adapters.safetensors sha256 `{record['adapter_sha256']}`..."
        sha = sha if record.get("adapter_sha256") else ""
        lines[-1] += f" Its adapter's LoRA (`{record['adapter']}`{sha}) is fused into the weights."
    if record.get("task"):
        lines += [
            "",
            "The task it was pruned for:",
            "",
            *(f"> {t}" for t in record["task"].splitlines()),
        ]
    lines += [
        "",
        "It is a standard mlx-lm model (config.json's `mlx_ifp` entry records the source, the mask "
        "and the budget). Run it with mlx-lm:",
        "",
        "```bash",
        "pip install mlx-lm",
        f'mlx_lm generate --model {run} --prompt "hello"',
        "```",
        "",
        "or with mlx_ifp, which runs it as written (a named `--mask-source` or `--keep` would "
        "prune it again):"
        if pruned  # a whole model is pruned per prompt by generate, as any model, unless told
        else "or with mlx_ifp, whole (without `--keep 1.0` it prunes the model per prompt):",
        "",
        "```bash",
        f'mlx_ifp generate --model {run}{"" if pruned else " --keep 1.0"} -p "hello"',
        "```",
        "",
    ]
    return "\n".join(lines)


__all__ = ["GGUF_TYPES", "export", "export_gguf", "source_info"]
