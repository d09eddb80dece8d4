"""``mlx_ifp export`` (alias ``convert``): a model, or the slim model of a task, prompt or mask,
as a standard mlx-lm folder or a GGUF file that llama.cpp and Ollama load. The mask comes from
the model's own source, as ``generate`` picks it: the shipped predictor with its LoRA fused in
for the embedded model, an ``--adapter``'s predictor, else GRIFFIN."""

from __future__ import annotations

import glob
import os
import warnings
from pathlib import Path
from typing import Annotated

import typer

from .. import UsageError
from ..common import MODEL_FILES, check_dtype, check_writable, not_an_input, read_json
from .generate import (
    Model,
    Task,
    check_full,
    named_adapter,
    not_empty,
    read_prompt,
    read_task,
    reads_text,
    shipped_predictor,
)

GGUF_TYPES = ("f16", "q8_0", "q4_0")


def output_format(fmt: str | None, output: str) -> str:
    """``--format``, or what the output's name says: ``.gguf`` is llama.cpp's file."""
    fmt = fmt.lower() if fmt else "gguf" if output.lower().endswith(".gguf") else "mlx"  # GGUF too
    if fmt not in ("mlx", "gguf"):
        raise UsageError(f"--format must be mlx or gguf, got {fmt!r}")
    return fmt


def gguf_writes(folder: Path) -> None:
    """Refuse a model folder whose architecture, RoPE or tokenizer GGUF export cannot write."""
    from ..convert.exporters import BPE_ONLY, byte_level_bpe, unsupported

    config = read_json(folder / "config.json", "model config")
    if isinstance(config.get("model_type"), str) and (why := unsupported(config)):
        raise UsageError(why)  # (no model_type: the load names it)
    tokenizer = folder / "tokenizer.json"  # (without one: the tokenizer the load makes)
    if tokenizer.is_file() and not byte_level_bpe(read_json(tokenizer, "tokenizer file")):
        raise UsageError(BPE_ONLY)


def not_held(output: str, *inputs) -> None:
    """Refuse an output folder holding an input (a mask, an adapter, a task file): the folder is
    replaced whole, and the input with it."""
    out = Path(output).expanduser().resolve()
    for given in filter(None, inputs):
        if Path(given).expanduser().resolve().is_relative_to(out):
            raise UsageError(f"output {output} holds the input {given}, which writing would "
                             "delete: name a new folder")  # fmt: skip


def globbed(output: str) -> None:
    """Warn that ``mlx_lm.load`` cannot load a folder whose path holds a glob character: it
    globs ``PATH/model*.safetensors`` (``mlx_ifp.load`` hands it such a folder by a link)."""
    if glob.escape(full := os.path.abspath(os.path.expanduser(output))) != full:
        typer.echo(f"Warning: mlx_lm.load may find no weights, or another folder's, in {full} "
                   "(it globs the path, which holds [, * or ?): mlx_ifp loads it; for mlx-lm, "
                   "rename it", err=True)  # fmt: skip


def convert_command(
    model: Model = "smollm2-135m-instruct",
    output: Annotated[
        str, typer.Option("--output", "-o", help="The mlx-lm folder (or .gguf file) to write.")
    ] = "",
    fmt: Annotated[
        str | None,
        typer.Option(
            "--format",
            help="mlx (an mlx-lm folder) or gguf (llama.cpp). Default: gguf for an "
            "output named *.gguf, else mlx.",
        ),
    ] = None,
    gguf_type: Annotated[
        str | None,
        typer.Option("--gguf-type", help="GGUF matrices: f16 (default), q8_0 or q4_0."),
    ] = None,
    prompt: Annotated[
        str | None,
        typer.Option("--prompt", "-p", help="Select the mask from this prompt; '-' reads stdin."),
    ] = None,
    keep: Annotated[
        str | None,
        typer.Option(
            "--keep",
            help="FFN channels kept per layer: a fraction (0.5) or a count (1024). Default 0.5, "
            "or the budget the adapter's predictor was trained for.",
        ),
    ] = None,
    mask_source: Annotated[
        str | None,
        typer.Option(
            "--mask-source",
            help="Default with --task or --prompt: the model's own, as generate picks (the "
            "shipped predictor + LoRA, --adapter's predictor, else griffin); with --keep alone: "
            "static; with neither, the whole model is written.",
        ),
    ] = None,
    task: Task = None,
    mask: Annotated[
        str | None,
        typer.Option("--mask", help="Export the slim model of a mask (with its predictor's LoRA)."),
    ] = None,
    adapter: Annotated[
        str | None,
        typer.Option(
            "--adapter",
            "--adapter-path",
            help="A `mlx_ifp finetune` output folder: its LoRA (or full weights) is written "
            "fused, and its predictor picks the mask from --task or --prompt (--keep 1.0: the "
            "whole model, as mlx_lm fuse). `default`: the one shipped with an embedded model.",
        ),
    ] = None,
    dtype: Annotated[
        str | None,
        typer.Option(
            help="Cast an mlx folder's float weights (with --dequantize, the unpacked ones): "
            "float16, bfloat16 or float32, as mlx_lm convert's --dtype. Default: the source's "
            "(a GGUF's or an embedded model's: float32).",
        ),
    ] = None,
    dequantize: Annotated[
        bool,
        typer.Option(
            "--dequantize/--no-dequantize",
            help="Write quantized weights unpacked to float (a GGUF file is always written from "
            "unpacked weights).",
        ),
    ] = False,
):
    """Write a model (or the slim model of a task, prompt or mask) for mlx-lm or llama.cpp."""
    from .. import Budget, Mask, check_model, export, export_gguf, load, make_source, select
    from ..sources import check_source_name, picked_by, read_config

    if not output:
        raise UsageError("give the output folder (or .gguf file) with --output/-o")
    not_empty(format=fmt)  # `--format "$F"` unset: not the format the name says
    fmt = output_format(fmt, output)
    gguf_type = gguf_type and gguf_type.lower()  # Q8_0 too, as llama.cpp spells it
    if gguf_type is not None and gguf_type not in GGUF_TYPES:
        raise UsageError(f"--gguf-type must be {', '.join(GGUF_TYPES)}, got {gguf_type!r}")
    check_dtype(dtype)
    # each format's own flag: the other format's was silently ignored
    if fmt == "mlx" and gguf_type is not None:
        raise UsageError("--gguf-type is for a GGUF output (-o NAME.gguf or --format gguf)")
    if fmt == "gguf" and dtype is not None:
        raise UsageError("--dtype casts an mlx folder: a GGUF file's matrices are --gguf-type")
    not_empty(prompt=prompt, task=task, mask=mask, mask_source=mask_source, adapter=adapter)
    if task and prompt:
        raise UsageError("give --task or --prompt, not both")
    if mask and (task or prompt or keep is not None or mask_source):
        raise UsageError(
            "--mask fixes the channels: give it without --task, --prompt, --keep or --mask-source"
        )
    # the shipped predictor by the names generate takes: `--adapter default`, `--mask-source
    # predictor` on an embedded model (both were "adapter folder not found" / "needs --adapter")
    named = Budget.parse(keep) if keep is not None else None
    check_full(mask_source, named)  # the budget would be ignored: the model written whole
    adapter = named_adapter(adapter, model, named)
    if adapter is None and mask_source == "predictor" and not mask:
        adapter = shipped_predictor(model, named, named=True)
    if adapter and not Path(adapter).is_dir():
        raise UsageError(f"adapter folder not found: {adapter}")
    if adapter and keep is None:
        keep = read_config(adapter).get("k")  # the budget it was trained for
    budget = Budget.parse(keep) if keep is not None else Budget(0.5)
    task_file = task[1:] if task and task.startswith("@") else None
    task, prompt = read_task(task), None if prompt is None else read_prompt(prompt)  # -: stdin
    # before loading: an existing file (or folder, for GGUF) is never replaced by the other kind,
    # nor a folder of the user's files by a model folder; an unknown mask source is named
    if fmt == "mlx":
        check_writable(output, folder=True, ours=MODEL_FILES)
        not_an_input(output)  # (a converted folder in the cache: the embedded model's twin)
        globbed(output)
    else:  # never the source model's own file (m.gguf -o m.gguf), nor one of its folder, nor a
        not_an_input(output, model)  # file of the user's (an earlier GGUF export is replaced)
        check_writable(output, magic=b"GGUF")
        if check_model(model) == "folder":  # what GGUF export cannot write: refused before
            gguf_writes(Path(model).expanduser())  # the model loads (minutes for a large one)
    given = Mask.load(mask) if mask else None
    if given is not None and adapter is None:
        adapter = picked_by(given)  # a predictor's mask is cut with its LoRA, as it was picked
    if fmt == "mlx":  # (a GGUF file holds nothing)
        not_held(output, mask and Mask.files(mask)[0], adapter, task_file)
    selecting = bool(given or keep is not None or task or prompt or mask_source or adapter)
    text = task or prompt
    if selecting and mask_source is None and given is None and not text:
        if named is not None and named.is_fraction and named.value == 1:
            mask_source = "full"  # every channel: nothing to pick (an adapter's LoRA fused)
        elif adapter is None:
            mask_source = "static"  # a budget alone: the weights' own ranking
    if mask_source is not None:
        check_source_name(mask_source)
    asked = mask_source and (text or selecting and given is None)  # only then: it may load
    flag = "--task" if task else "--prompt" if prompt else None  # refused if it reads no text
    reads = reads_text(mask_source, adapter, flag) if asked else True
    if selecting and given is None and not text and reads:  # the model's own source reads text
        name = mask_source or "predictor"
        whole = " (or --keep 1.0: the whole model, the adapter's weights fused)" if adapter else ""
        raise UsageError(f"--mask-source {name} selects from text: give --task or --prompt{whole}")
    # GGUF is written from float weights; llama.cpp quantizes them to --gguf-type
    net, tokenizer = load(
        model, dequantize=dequantize or fmt == "gguf", dtype=dtype, adapter_path=adapter
    )
    chosen = None
    if selecting:  # else the model as it is
        source = None
        if mask_source:
            source = make_source(mask_source, tokenizer=tokenizer, adapter_path=adapter)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            net, info = select(
                net,
                tokenizer,
                prompt or (None if task or given else "-"),  # "-": a source that reads no text
                task=None if prompt or given else task,
                mask=given,
                keep=None if given else budget,
                mask_source=source,
            )
        for w in caught:  # ours (a budget the predictor was not trained for): one line
            if issubclass(w.category, UserWarning):
                typer.echo(f"Warning: {w.message}", err=True)
            else:
                warnings.showwarning(w.message, w.category, w.filename, w.lineno)
        chosen = info.mask
    described = task if chosen is not None and isinstance(task, str) else None  # (not @FILE's)
    if fmt == "gguf":
        path = export_gguf(
            net, tokenizer, output, gguf_type or "f16", mask=chosen, progress=True, task=described
        )
    else:
        path = export(net, tokenizer, output, dtype=dtype, mask=chosen, task=described)
    typer.echo(f"Wrote {path}")
