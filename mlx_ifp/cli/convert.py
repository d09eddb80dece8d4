"""``mlx_ifp convert``: a model, or a task's slim model, as a standard mlx-lm folder."""

from __future__ import annotations

from typing import Annotated

import typer

from .. import UsageError
from .common import Dequantize, Model, Task


def convert_command(
    model: Model = "smollm2-135m-instruct",
    output: Annotated[str, typer.Option("--output", "-o", help="The mlx-lm folder to write.")] = "",
    keep: Annotated[
        str | None, typer.Option("--keep", help="Export a slim model keeping this many channels.")
    ] = None,
    mask_source: Annotated[
        str | None,
        typer.Option("--mask-source", help="Default: griffin with --task, static without."),
    ] = None,
    task: Task = None,
    mask: Annotated[
        str | None, typer.Option("--mask", help="Export the slim model of a mask.")
    ] = None,
    dtype: Annotated[
        str | None, typer.Option(help="Cast float weights: float32, float16, bfloat16.")
    ] = None,
    dequantize: Dequantize = False,
):
    """Write a model (or the slim model of a task or mask) as a standard mlx-lm folder."""
    from .. import Budget, Mask, export, load, select
    from ..paths import check_writable

    if not output:
        raise UsageError("give the output folder with --output/-o")
    if dtype not in (None, "float32", "float16", "bfloat16"):
        raise UsageError(f"--dtype must be float32, float16 or bfloat16, got {dtype!r}")
    check_writable(output, folder=True)  # before loading: an existing file is never replaced
    if keep is not None:
        Budget.parse(keep)
    net, tokenizer = load(model, dequantize=dequantize, dtype=dtype)
    if mask or keep is not None or task:
        from .. import make_source

        given = Mask.load(mask, net) if mask else None
        mask_source = mask_source or ("griffin" if task else "static")
        source = make_source(mask_source, tokenizer=tokenizer)
        if given is None and source.uses_text and not task:
            raise UsageError(f"--mask-source {mask_source} selects from text: give --task")
        net, _ = select(
            net, tokenizer, task=task or "-", mask=given, keep=keep or 0.5, mask_source=source
        )
    path = export(net, tokenizer, output, dtype=dtype)
    typer.echo(f"Wrote {path}")
