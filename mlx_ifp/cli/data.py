"""``mlx_ifp data build``: the offline multi-domain corpus."""

from __future__ import annotations

from typing import Annotated

import mlx_ifp

import typer


def data_build_command(
    output: Annotated[
        str | None,
        typer.Option(
            "--output",
            "-o",
            help="Folder to write (default: a cache folder keyed by the settings).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the train/valid/test splits.")] = 0,
    max_stdlib: Annotated[int, typer.Option(help="Standard-library functions to use.")] = 3000,
    force: Annotated[bool, typer.Option("--force", help="Rebuild even if cached.")] = False,
    distill_n: Annotated[
        int,
        typer.Option(
            "--distill",
            help="Also have the dense model answer "
            "this many training prompts (self-distillation; slow on CPU).",
        ),
    ] = 0,
    model: Annotated[str, typer.Option("--model", help="Model for --distill.")] = (
        "smollm2-135m-instruct"
    ),
):
    """Build the multi-domain corpus (math, code, science, prose, general) offline, split by a seed.

    Writes domains/<domain>/<split>.jsonl (records with provenance), pretrain/ ({"text"}),
    sft/ ({"prompt","completion"}), chat/ ({"messages"}), tasks.json and manifest.json.
    """
    from ..data import BuildConfig, build, distill

    path = build(output, BuildConfig(seed=seed, max_stdlib=max_stdlib), force=force)
    if distill_n > 0:
        net, tokenizer = mlx_ifp.load(model)
        typer.echo(str(distill(path, net, tokenizer, distill_n, model, seed=seed)))
    typer.echo(str(path))
