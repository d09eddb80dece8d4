"""``mlx_ifp export`` (alias ``convert``): a model, or the slim model of a task, prompt or mask,
as a standard mlx-lm folder or a GGUF file that llama.cpp and Ollama load."""

from __future__ import annotations

from typing import Annotated

import typer

from .. import UsageError
from .common import Model, Task, read_task


def convert_command(
    model: Model = "smollm2-135m-instruct",
    output: Annotated[
        str, typer.Option("--output", "-o", help="The mlx-lm folder (or .gguf file) to write.")
    ] = "",
    fmt: Annotated[
        str, typer.Option("--format", help="mlx (an mlx-lm folder) or gguf (llama.cpp).")
    ] = "mlx",
    gguf_type: Annotated[
        str, typer.Option("--gguf-type", help="GGUF matrices: f16, q8_0 or q4_0.")
    ] = "f16",
    prompt: Annotated[
        str | None, typer.Option("--prompt", "-p", help="Select the mask from this prompt.")
    ] = None,
    keep: Annotated[
        str | None, typer.Option("--keep", help="Export a slim model keeping this many channels.")
    ] = None,
    mask_source: Annotated[
        str | None,
        typer.Option(
            "--mask-source", help="Default: griffin with --task or --prompt, static without."
        ),
    ] = None,
    task: Task = None,
    mask: Annotated[
        str | None, typer.Option("--mask", help="Export the slim model of a mask.")
    ] = None,
    dtype: Annotated[
        str | None, typer.Option(help="Cast float weights: float32, float16, bfloat16.")
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
    from .. import Budget, Mask, export, load, select
    from ..common import check_writable

    if not output:
        raise UsageError("give the output folder (or .gguf file) with --output/-o")
    if fmt not in ("mlx", "gguf"):
        raise UsageError(f"--format must be mlx or gguf, got {fmt!r}")
    if gguf_type not in ("f16", "q8_0", "q4_0"):
        raise UsageError(f"--gguf-type must be f16, q8_0 or q4_0, got {gguf_type!r}")
    if dtype not in (None, "float32", "float16", "bfloat16"):
        raise UsageError(f"--dtype must be float32, float16 or bfloat16, got {dtype!r}")
    if task and prompt:
        raise UsageError("give --task or --prompt, not both")
    budget = Budget.parse(keep) if keep is not None else Budget(0.5)
    task = read_task(task)
    # before loading: an existing file (or folder, for GGUF) is never replaced by the other kind
    check_writable(output, folder=fmt == "mlx")
    # GGUF is written from float weights; llama.cpp quantizes them to --gguf-type
    net, tokenizer = load(model, dequantize=dequantize or fmt == "gguf", dtype=dtype)
    chosen = None
    if mask or keep is not None or task or prompt:
        from .. import make_source

        given = Mask.load(mask, net) if mask else None
        mask_source = mask_source or ("griffin" if task or prompt else "static")
        source = make_source(mask_source, tokenizer=tokenizer)
        if given is None and source.uses_text and not (task or prompt):
            raise UsageError(
                f"--mask-source {mask_source} selects from text: give --task or --prompt"
            )
        text = None if prompt else task or "-"
        net, info = select(
            net, tokenizer, prompt, task=text, mask=given, keep=budget, mask_source=source
        )
        chosen = info.mask
    if fmt == "gguf":
        from ..convert import export_gguf

        path = export_gguf(net, tokenizer, output, gguf_type, mask=chosen)
    else:
        path = export(net, tokenizer, output, dtype=dtype, mask=chosen)
    typer.echo(f"Wrote {path}")
