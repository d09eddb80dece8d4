"""``mlx_ifp finetune``: train the predictor jointly with the LLM (frozen, LoRA or full)."""

from __future__ import annotations

from typing import Annotated

import typer


def finetune_command(
    config: Annotated[str | None, typer.Option("--config", "-c", help="YAML config.")] = None,
    model: Annotated[str | None, typer.Option(help="The source model.")] = None,
    data: Annotated[str | None, typer.Option(help="Folder of train/valid/test.jsonl.")] = None,
    output: Annotated[str | None, typer.Option("--output", "-o", help="Adapter folder.")] = None,
    stage: Annotated[str | None, typer.Option(help="pretrain (stage 1) or sft (stage 2).")] = None,
    keep: Annotated[str | None, typer.Option(help="Channels kept per layer.")] = None,
    train: Annotated[str | None, typer.Option(help="The LLM: frozen, lora or full.")] = None,
    iters: Annotated[int | None, typer.Option(help="Optimizer steps.")] = None,
    batch_size: Annotated[int | None, typer.Option(help="Examples per step.")] = None,
    grad_accumulation: Annotated[int | None, typer.Option(help="Micro-batches per step.")] = None,
    learning_rate: Annotated[float | None, typer.Option(help="LLM learning rate.")] = None,
    predictor_lr: Annotated[float | None, typer.Option(help="Predictor learning rate.")] = None,
    lr_schedule: Annotated[str | None, typer.Option(help="constant, cosine or linear.")] = None,
    max_seq_length: Annotated[int | None, typer.Option(help="Longer sequences are cut.")] = None,
    chunks: Annotated[int | None, typer.Option(help="Stage 1: chunks per sequence.")] = None,
    eps_start: Annotated[float | None, typer.Option(help="SoftTopK eps at step 0.")] = None,
    eps_end: Annotated[float | None, typer.Option(help="SoftTopK eps at the end.")] = None,
    mask_forward: Annotated[
        str | None, typer.Option(help="Training mask: soft (l*TopK(l)) or hard_st.")
    ] = None,
    distill: Annotated[float | None, typer.Option(help="Weight of the KL to dense.")] = None,
    grad_checkpoint: Annotated[bool | None, typer.Option("--grad-checkpoint")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    ce: Annotated[float | None, typer.Option(help="Weight of the CE on the data.")] = None,
    compile: Annotated[
        str | None, typer.Option(help="Compile the whole step: auto (GPU), true, false.")
    ] = None,
    init_from: Annotated[
        str | None, typer.Option(help="Start from this run's predictor and adapters.")
    ] = None,
    max_seconds: Annotated[
        float | None, typer.Option(help="Stop and save after this much training time.")
    ] = None,
    dequantize: Annotated[
        bool | None,
        typer.Option("--dequantize/--no-dequantize", help="Unpack a quantized source."),
    ] = None,
    save_every: Annotated[int | None, typer.Option(help="Checkpoint every N steps.")] = None,
    val_every: Annotated[int | None, typer.Option(help="Validate every N steps.")] = None,
    resume: Annotated[str | None, typer.Option(help="Continue from this checkpoint.")] = None,
):
    """Train the sparsity predictor jointly with the LLM (frozen, LoRA or full)."""
    overrides = {k: v for k, v in locals().items() if k != "config"}  # the flags, first
    import mlx.core as mx

    from ..train import finetune, load_config, read_state

    if resume and not config:
        saved = read_state(resume)["config"]
        overrides = {**saved, **{k: v for k, v in overrides.items() if v is not None}}
    cfg = load_config(config, **overrides)
    path = finetune(cfg)
    if mx.distributed.init().rank() == 0:
        typer.echo(f"Saved predictor and adapters to {path}")
