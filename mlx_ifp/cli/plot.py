"""``mlx_ifp plot``: mask-overlap heatmaps and quality-vs-active-parameters plots."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import mlx_ifp

import typer

from .. import UsageError


def plot_command(
    kind: Annotated[str, typer.Argument(help="overlap (mask heatmap) or quality (from eval).")],
    output: Annotated[str, typer.Option("--output", "-o", help="PNG file to write.")],
    report: Annotated[
        str | None, typer.Option("--report", help="JSON from `mlx_ifp eval` (quality).")
    ] = None,
    metric: Annotated[str, typer.Option(help="quality metric: ppl, nll, kl or top1.")] = "ppl",
    model: Annotated[str, typer.Option("--model", help="Model (overlap).")] = (
        "smollm2-135m-instruct"
    ),
    data: Annotated[str | None, typer.Option("--data", help="Corpus folder (overlap).")] = None,
    mask_source: Annotated[str, typer.Option("--mask-source", help="Source (overlap).")] = (
        "griffin"
    ),
    keep: Annotated[float, typer.Option(help="Keep ratio (overlap).")] = 0.5,
    adapter: Annotated[
        str | None,
        typer.Option(
            "--adapter",
            help="A finetune folder, or 'default' (the shipped predictor), for --mask-source "
            "predictor (overlap).",
        ),
    ] = None,
    n: Annotated[int, typer.Option("-n", help="Test prompts per domain (overlap).")] = 8,
    groups: Annotated[int, typer.Option(help="Layer groups (overlap).")] = 3,
):
    """Write a PNG: mask overlap between domains, or quality vs active parameters."""
    from ..common import atomic_file
    from ..data import build
    from ..evaluation.plots import mask_overlap, plot_overlap, plot_quality

    if kind == "quality":
        if not report or not Path(report).is_file():
            raise UsageError("quality plots need --report FILE (the JSON of `mlx_ifp eval -o`)")
        path = plot_quality(json.loads(Path(report).read_text()), output, metric)
    elif kind == "overlap":
        net, tokenizer = mlx_ifp.load(model, adapter_path=adapter)
        result = mask_overlap(net, tokenizer, data or build(), mask_source, keep, n, groups)
        with atomic_file(Path(output).with_suffix(".json")) as tmp:
            tmp.write_text(json.dumps(result, indent=2))
        path = plot_overlap(result, output)
    else:
        raise UsageError(f"unknown plot {kind!r} (choose overlap or quality)")
    typer.echo(f"Wrote {path}")
