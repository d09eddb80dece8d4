"""``mlx_ifp finetune``: train the predictor jointly with the LLM (frozen, LoRA or full)."""

from __future__ import annotations

import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import Annotated

import typer

from ..train import MLX_LM_KEYS, FinetuneConfig, UsageError, launched

#: seconds a process other than rank 0 of a launch waits before its ``Error:`` line (``held_back``)
HOLD_BACK_S = 30.0

#: every setting's default, from the dataclass: the help shows them, the config applies them
DEFAULTS = {f.name: f.default for f in fields(FinetuneConfig)}
DATA_HELP = (
    "Folder of train.jsonl and valid.jsonl (as mlx_lm lora's; default: the current folder, with"
    " --resume the run's)."
)


def shown(value) -> str:
    """A default as the help shows it: ``0.0001``, ``100``, ``off``."""
    if isinstance(value, bool):
        return "on" if value else "off"
    return f"{value:g}" if isinstance(value, float) else str(value)


def opt(name: str, help: str, *flags: str):
    """The option of config field ``name``: None unless given (the config decides), its help
    ending with the field's default."""
    default = DEFAULTS.get(name)
    if default not in (None, ""):
        help = f"{help} (default: {shown(default)})"
    return typer.Option(*flags, help=help)


def finetune_command(
    config: Annotated[str | None, typer.Option("--config", "-c", help="YAML config.")] = None,
    model: Annotated[str | None, opt("model", "The source model.")] = None,
    data: Annotated[str | None, opt("data", DATA_HELP)] = None,
    output: Annotated[str | None, opt("output", "Adapter folder.", "--output", "-o")] = None,
    stage: Annotated[str | None, opt("stage", "pretrain (stage 1) or sft (stage 2).")] = None,
    keep: Annotated[str | None, opt("keep", "Channels kept per layer.")] = None,
    train: Annotated[str | None, opt("train", "The LLM: frozen, lora or full.")] = None,
    lora_layers: Annotated[
        int | None, opt("lora_layers", "LoRA: the last N layers (-1: every layer).")
    ] = None,
    lora_rank: Annotated[int | None, opt("lora_rank", "LoRA rank.")] = None,
    iters: Annotated[int | None, opt("iters", "Optimizer steps.")] = None,
    batch_size: Annotated[
        int | None,
        opt(
            "batch_size",
            "Examples per micro-batch (a step: --grad-accumulation of them); under mlx.launch, "
            "of every process together (each takes its share).",
        ),
    ] = None,
    grad_accumulation: Annotated[
        int | None, opt("grad_accumulation", "Micro-batches per step.")
    ] = None,
    learning_rate: Annotated[float | None, opt("learning_rate", "LLM learning rate.")] = None,
    predictor_lr: Annotated[float | None, opt("predictor_lr", "Predictor learning rate.")] = None,
    lr_schedule: Annotated[
        str | None, opt("lr_schedule", "constant, cosine or linear (decay to 0 at --iters).")
    ] = None,
    decay_start: Annotated[
        int | None,
        opt(
            "decay_start", "Cosine/linear: hold the rate until this step, then decay (0: at once)."
        ),
    ] = None,
    warmup: Annotated[
        int | None, opt("warmup", "Steps of linear learning-rate warm-up from 0 (0: none).")
    ] = None,
    max_seq_length: Annotated[
        int | None, opt("max_seq_length", "Longer sequences are cut.")
    ] = None,
    chunks: Annotated[int | None, opt("chunks", "Stage 1: chunks per sequence.")] = None,
    repick: Annotated[
        int | None, opt("repick", "Stage 2: re-pick the mask every N response tokens.")
    ] = None,
    repick_share: Annotated[
        float | None, opt("repick_share", "With --repick: the share of each batch that re-picks.")
    ] = None,
    task_share: Annotated[
        float | None,
        opt(
            "task_share",
            "Stage 2: the share of each batch (its last rows) whose mask is the mean of the "
            "scores of the batch's other prompts of the same 'domain' (a per-task mask).",
        ),
    ] = None,
    pack: Annotated[
        bool | None,
        opt("pack", "Stage 1: join texts into full rows (no padding).", "--pack/--no-pack"),
    ] = None,
    eps_start: Annotated[float | None, opt("eps_start", "SoftTopK eps at step 0.")] = None,
    eps_end: Annotated[float | None, opt("eps_end", "SoftTopK eps at the end.")] = None,
    eps_steps: Annotated[
        int | None,
        opt("eps_steps", "Steps eps anneals over, counted from step 0 as --iters is (0: all)."),
    ] = None,
    mask_forward: Annotated[
        str | None, opt("mask_forward", "Training mask: soft (l*TopK(l)) or hard_st.")
    ] = None,
    distill: Annotated[float | None, opt("distill", "Weight of the KL to dense.")] = None,
    anchor: Annotated[
        float | None,
        opt("anchor", "Weight of the unpruned LoRA'd model's KL to dense (limits LoRA drift)."),
    ] = None,
    end_weight: Annotated[
        float | None,
        opt(
            "end_weight",
            "With --distill: the KL's weight where dense puts over half its probability on the "
            "end of the turn (replies that end where dense's do).",
        ),
    ] = None,
    grad_checkpoint: Annotated[
        bool | None,
        opt(
            "grad_checkpoint",
            "Recompute activations in the backward pass.",
            "--grad-checkpoint/--no-grad-checkpoint",
        ),
    ] = None,
    seed: Annotated[int | None, opt("seed", "Random seed.")] = None,
    ce: Annotated[float | None, opt("ce", "Weight of the CE on the data.")] = None,
    compile: Annotated[
        str | None, opt("compile", "Compile the whole step: auto (GPU), true, false.")
    ] = None,
    init_from: Annotated[
        str | None, opt("init_from", "Start from this run's predictor and adapters.")
    ] = None,
    start_step: Annotated[
        int | None,
        opt("start_step", "With --init-from: continue that run at this step (new optimizer)."),
    ] = None,
    max_seconds: Annotated[
        float | None,
        opt(
            "max_seconds",
            "Stop and save once this run's loop (steps, validation, checkpoints) "
            "has taken this many seconds; 0: no limit.",
        ),
    ] = None,
    dequantize: Annotated[
        bool | None,
        opt(
            "dequantize",
            "Unpack a quantized source (default: on CPU, and for --train full).",
            "--dequantize/--no-dequantize",
        ),
    ] = None,
    dtype: Annotated[
        str | None, opt("dtype", "Float weights: float32, float16 or bfloat16 (CPU: float32).")
    ] = None,
    memory_limit: Annotated[
        float | None,
        opt("memory_limit", "MLX's memory limit for the run, in GB (0: MLX's default)."),
    ] = None,
    save_every: Annotated[int | None, opt("save_every", "Checkpoint every N steps.")] = None,
    val_every: Annotated[int | None, opt("val_every", "Validate every N steps.")] = None,
    val_batches: Annotated[
        int | None, opt("val_batches", "Batches each validation scores (-1: the whole split).")
    ] = None,
    test: Annotated[
        bool | None,
        opt(
            "test",
            "After training, score test.jsonl with the run's masks: CE and perplexity, "
            "printed and kept in the run folder's test.json (--resume RUN --test: a finished run).",
            "--test/--no-test",
        ),
    ] = None,
    test_batches: Annotated[
        int | None, opt("test_batches", "Batches --test scores (-1: the whole split).")
    ] = None,
    resume: Annotated[
        str | None, opt("resume", "Continue the run saved in this folder (an -o folder).")
    ] = None,
):
    """Train the sparsity predictor jointly with the LLM (frozen, LoRA or full).

    The defaults shown are FinetuneConfig's: the run --resume continues overrides them, a
    --config YAML overrides both, and the flags given override all. A resumed run writes to
    the folder it resumes, unless -o or the --config YAML's output names another (as mlx_lm
    writes to its config's adapter_path).
    """
    overrides = {k: v for k, v in locals().items() if k != "config"}  # the flags, first
    import mlx.core as mx

    from ..train import Interrupted, Refused, finetune, load_config, read_state

    given = {k for k, v in overrides.items() if v is not None}
    saved = {}  # a resumed run: its own settings under the config's and the flags' (not its
    if resume:  # output: it writes where it is, unless -o or the config names another)
        saved = {k: v for k, v in read_state(resume)["config"].items() if k != "output"}
    cfg = load_config(config, saved=saved, **overrides)
    check_flags(given, cfg)
    rank = mx.distributed.init().rank()
    if rank == 0:
        replacing(cfg, read_state)
    try:
        path = finetune(cfg)
    except (Refused, Interrupted) as e:  # every rank stops with it: rank 0 alone says why
        if rank or isinstance(e, Refused):  # (a failed launch: every process is "rank 0")
            raise typer.Exit(130 if isinstance(e, Interrupted) else 2) from None
        raise
    if rank == 0:
        what = {"lora": " and its LoRA adapters", "full": " and the fine-tuned LLM weights"}
        typer.echo(f"Saved the predictor{what.get(cfg.train, '')} to {path}")


def replacing(cfg, read_state) -> None:
    """A run written into a folder that holds another run (not the one it resumes or starts
    from): one warning line, as the same command typed again without --resume replaces the run
    at its first save (mlx_lm lora overwrites its adapters without a word)."""
    out = Path(cfg.output).expanduser()
    named = (cfg.resume, cfg.init_from)  # it goes on from that run: named, not forgotten
    if any(p and Path(p).expanduser().resolve() == out.resolve() for p in named):
        return
    if not (out / "trainer_state.json").is_file():
        return
    try:
        step = read_state(out)["step"]
    except UsageError:  # a broken one: the start of the run says what it does with it
        return
    how = (f"this run goes on from {cfg.resume}" if cfg.resume else f"this run starts from "
           f"{cfg.init_from}'s weights" if cfg.init_from else "this run starts over")  # fmt: skip
    print(
        f"Warning: {out} holds a run at step {step}: {how} and replaces it at its first save "
        f"(--resume {out} continues it)",
        file=sys.stderr,
    )


def check_flags(given: set, cfg) -> None:
    """Refuse a flag this run would ignore (mlx_lm lora trains LoRA by default; this trains
    the predictor alone unless --train says otherwise)."""
    lora = f"it is for --train lora (this run: --train {cfg.train})"
    unused = {  # flag: (ignored in this run, why)
        "lora_layers": (cfg.train != "lora", lora),
        "lora_rank": (cfg.train != "lora", lora),
        "learning_rate": (
            cfg.train == "frozen",
            "it is the LLM's rate and the LLM is frozen (--train lora or full trains it; "
            "--predictor-lr is the predictor's)",
        ),
        "chunks": (cfg.stage != "pretrain", "it is for stage 1 (--stage pretrain)"),
        "test_batches": (not cfg.test, "it is for --test (score test.jsonl after training)"),
    }
    for name, (ignored, why) in unused.items():
        if ignored and name in given:
            raise UsageError(f"--{name.replace('_', '-')} would be ignored: {why}")


def mlx_lm_said(said: str, error, args: list | None) -> str:
    """A ``finetune`` parse error (``said``) with what the ``mlx_lm lora`` flag it met is here:
    mlx_lm's ``--train`` switch (``--train --data D`` was "unexpected extra argument (D)"), a
    flag of another name (``--num-layers``) or of no use here (``--mask-prompt``)."""
    args = sys.argv[1:] if args is None else list(args)
    if args[:1] != ["finetune"]:
        return said
    after = args[args.index("--train") + 1 :][:1] if "--train" in args else ["lora"]
    if not after or after[0].startswith("-"):
        return (
            "--train takes frozen, lora or full here (mlx_lm lora's --train switch is what "
            "finetune does: leave it out; --train lora trains LoRA as mlx_lm lora does)"
        )
    key = str(getattr(error, "option_name", "") or "").lstrip("-").replace("-", "_")
    return f"{said} (mlx_lm lora: {MLX_LM_KEYS[key]})" if key in MLX_LM_KEYS else said


def held_back(code: int = 2) -> str | None:
    """What opens this process's ``Error:`` line: "" alone or as rank 0 of a launch (mlx.launch,
    mpirun). Another rank first waits ``HOLD_BACK_S``: every rank reads the same flags and
    files, so rank 0 meets the same bad input, says it and exits, and the launcher then ends
    the others before they say it again (two lines for one mistake until the fifty-eighth
    session). Still running, its error is its own (a folder missing on its host alone):
    "process R of N: " opens it. A Ctrl-C (``code`` 130): None at once, no line (rank 0 says
    it, as a run's own interrupt is said)."""
    rank, world, _ = launched()
    if rank == 0 or world == 1:
        return ""
    if code == 130:
        return None
    time.sleep(HOLD_BACK_S)
    return f"process {rank} of {world}: "
