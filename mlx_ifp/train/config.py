"""Every setting of a training run: a dataclass of defaults, a YAML file on top, flags on top."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from pathlib import Path

from ..core import Budget, UsageError
from ..sources.predictor import PredictorConfig

MASK_FORWARD = ("soft", "hard_st")


@dataclass
class FinetuneConfig:
    """Every setting of a run; a YAML file and flags override these defaults."""

    model: str = "smollm2-135m-instruct"
    data: str = ""
    output: str = "ifp_adapters"
    stage: str = "sft"  # "pretrain" (stage 1) or "sft" (stage 2)
    keep: str = "0.5"  # FFN channels kept per layer: fraction or count
    iters: int = 100  # optimizer steps
    batch_size: int = 4
    grad_accumulation: int = 1
    learning_rate: float = 1e-4  # LLM (LoRA or full)
    predictor_lr: float = 1e-3
    lr_schedule: str = "constant"  # constant, cosine or linear (decay to 0 at `iters`)
    warmup: int = 0
    weight_decay: float = 0.0
    max_grad_norm: float = 0.0  # 0: no clipping
    max_seq_length: int = 512
    chunks: int = 4  # stage 1: K chunks of max_seq_length // K tokens
    # stage 2: re-pick the mask every N response tokens from the text so far, as `generate`
    # does (a predictor that reads GRIFFIN statistics); 0: the first user turn's mask throughout
    repick: int = 0
    pack: bool = False  # stage 1: join the texts into full rows (no padding, nothing cut)
    train: str = "frozen"  # the LLM: frozen, lora or full
    lora_layers: int = 16
    lora_rank: int = 8
    lora_scale: float = 20.0
    lora_dropout: float = 0.0
    lora_keys: list = field(default_factory=list)  # e.g. [mlp.gate_proj, self_attn.q_proj]
    predictor: dict = field(default_factory=dict)  # PredictorConfig fields
    eps_start: float = 1.0
    eps_end: float = 0.05
    eps_schedule: str = "exp"  # exp, linear or constant
    eps_steps: int = 0  # 0: anneal over all `iters`
    # "hard_st": the 0/1 top-k mask forward, SoftTopK gradient backward (validated by
    # tests/test_learning.py); "soft": the paper's l * TopK(l)
    mask_forward: str = "hard_st"
    ce: float = 1.0  # weight of the cross-entropy on the data's tokens
    distill: float = 0.0  # weight of the KL to the frozen source model (dense, no adapters)
    compile: str = "auto"  # compile the whole step: auto (on a GPU), true, false
    probe_prompts: int = 8  # held-out prompts per domain for the mask-diversity probe
    init_from: str | None = None  # start from another run's predictor and adapters
    # with init_from: continue that run at this step (its schedules, data order and seeds);
    # the optimizer state starts new, so the learning-rate warmup runs again
    start_step: int = 0
    max_seconds: float = 0.0  # stop (and save) once training has run this long; 0: no limit
    dequantize: bool | None = None  # unpack a quantized source (default: on CPU only)
    grad_checkpoint: bool = False
    seed: int = 0
    save_every: int = 100
    val_every: int = 50
    val_batches: int = 8
    resume: str | None = None
    quiet: bool = False


def load_config(path: str | Path | None = None, **overrides) -> FinetuneConfig:
    """Defaults, then the YAML file, then ``overrides`` (None values are skipped)."""
    values: dict = {}
    if path:
        import yaml

        try:
            values = yaml.safe_load(Path(path).read_text()) or {}
        except (OSError, yaml.YAMLError) as e:
            raise UsageError(f"cannot read config {path}: {e}") from None
        if not isinstance(values, dict):
            raise UsageError(f"config {path} must be a mapping of settings")
    values.update({k: v for k, v in overrides.items() if v is not None})
    known = {f.name for f in fields(FinetuneConfig)}
    unknown = sorted(set(values) - known)
    if unknown:
        raise UsageError(f"unknown config key(s): {', '.join(unknown)}")
    bad = set(values.get("predictor", {})) - {f.name for f in fields(PredictorConfig)}
    if bad:
        raise UsageError(f"unknown predictor config key(s): {', '.join(sorted(bad))}")
    cfg = FinetuneConfig(**values)
    check(cfg)
    return cfg


def check(cfg: FinetuneConfig) -> None:
    choices = {"stage": ("pretrain", "sft"), "train": ("frozen", "lora", "full")}
    choices["lr_schedule"] = ("constant", "cosine", "linear")
    choices["mask_forward"] = MASK_FORWARD
    for name, allowed in choices.items():
        if getattr(cfg, name) not in allowed:
            raise UsageError(f"{name} must be one of {', '.join(allowed)}")
    whole = ("iters", "batch_size", "grad_accumulation", "max_seq_length", "chunks", "save_every")
    counts = ("repick", "val_every", "val_batches", "warmup", "eps_steps", "seed", "start_step")
    for name in (*whole, *counts):
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageError(f"{name} must be a whole number, got {value!r}")
        if value < (1 if name in whole else 0):
            raise UsageError(f"{name} must be >= {1 if name in whole else 0}, got {value}")
    for name in ("learning_rate", "predictor_lr", "eps_start", "eps_end", "ce", "distill"):
        value = getattr(cfg, name)
        if isinstance(value, str):  # YAML reads 1e-4 (no dot) as text
            try:
                value = float(value)
                setattr(cfg, name, value)
            except ValueError:
                pass
        if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
            raise UsageError(f"{name} must be a number >= 0, got {value!r}")
        if value == float("inf"):
            raise UsageError(f"{name} must be finite")
    Budget.parse(cfg.keep)
    if cfg.start_step and (not cfg.init_from or cfg.resume or cfg.start_step >= cfg.iters):
        raise UsageError(
            f"start_step ({cfg.start_step}) continues an --init-from run below iters "
            f"({cfg.iters}), without --resume (a checkpoint knows its own step)"
        )
    reads_griffin = PredictorConfig(**cfg.predictor).reads_griffin
    if cfg.repick and (cfg.stage != "sft" or not reads_griffin):
        raise UsageError("repick is for stage 2 (sft) with a predictor whose head is 'griffin'")
    if cfg.stage == "pretrain" and (cfg.chunks < 2 or cfg.max_seq_length < 2 * cfg.chunks):
        raise UsageError("stage 1 needs chunks >= 2 and max_seq_length >= 2 * chunks")
    if cfg.stage == "pretrain" and cfg.max_seq_length % cfg.chunks:
        raise UsageError(
            f"stage 1 cuts max_seq_length ({cfg.max_seq_length}) into {cfg.chunks} equal chunks: "
            "make it a multiple of chunks"
        )
