"""A training run's settings: ``FinetuneConfig``'s defaults, then a YAML file, then flags;
``check`` refuses a bad one in one line before any work; ``adapter_config``, the LLM part as
mlx-lm records it, and ``data_settings``, the data part as ``load_data`` takes it;
``repicking_rows`` and ``task_rows``, the rows of a batch they single out; ``world_problem``, a
launch of several processes that cannot train as one run."""

from __future__ import annotations

import contextlib
import json
import os
from dataclasses import dataclass, field, fields
from difflib import get_close_matches
from math import inf
from pathlib import Path

import mlx.core as mx

from ..core import Budget, UsageError, check_dtype, vocab_size, yaml_problem
from ..sources.predictor import PredictorConfig

MASK_FORWARD = ("soft", "hard_st")
#: ``PredictorConfig`` fields the trainer fills in: k from ``keep``, the rest from the model
FILLED_IN = ("k", "n_layers", "d_ffn", "hidden", "model")


#: an `mlx_lm lora` config's keys this command names otherwise, or has no use for
MLX_LM_KEYS = {
    "num_layers": "num_layers is lora_layers here",
    "fine_tune_type": "fine_tune_type is train here (frozen, lora or full)",
    "lora_parameters": "lora_parameters are lora_rank, lora_scale, lora_dropout, lora_keys here",
    "adapter_path": "adapter_path is output here",
    "resume_adapter_file": "resume_adapter_file is resume here (a checkpoint folder of this "
    "command; an mlx_lm adapter: fuse it into the model with mlx_lm.fuse and train from that)",
    "grad_accumulation_steps": "grad_accumulation_steps is grad_accumulation here (iters counts "
    "optimizer steps of that many batches)",
    "steps_per_eval": "steps_per_eval is val_every here",
    "mask_prompt": "mask_prompt: stage sft scores the reply alone already (pretrain: every token)",
    **dict.fromkeys(("optimizer", "optimizer_config"), "optimizer: AdamW (weight_decay) always"),
    "steps_per_report": "steps_per_report: the bar shows every step; a log, a line every tenth "
    "of the run or 10 s; every step's loss is in trainer_state.json",
    **dict.fromkeys(
        ("report_to", "project_name"),
        "report_to: the loss history is in trainer_state.json (tools/plot_training.py plots it)",
    ),
    "hf_dataset": "hf_dataset: data is a local folder here",
    "clear_cache_threshold": "clear_cache_threshold: memory_limit sets MLX's limits here",
}

#: the records' fields: mlx-lm's name (``batches.to_example``'s keys) -> the option naming it
FEATURES = {"prompt": "prompt_feature", "completion": "completion_feature",
            "messages": "chat_feature", "text": "text_feature"}  # fmt: skip


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
    decay_start: int = 0  # cosine/linear: hold the rate until this step, then decay (0: at once)
    weight_decay: float = 0.0
    max_grad_norm: float = 0.0  # 0: no clipping
    max_seq_length: int = 512
    chunks: int = 4  # stage 1: K chunks of max_seq_length // K tokens
    # stage 2, a GRIFFIN-reading predictor: re-pick every N reply tokens, as generate does
    repick: int = 0
    repick_share: float = 1.0  # with repick: the share of each batch's rows that re-pick
    task_share: float = 0.0  # stage 2: the share of rows (the last) run with a per-task mask
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
    anchor: float = 0.0  # weight of the same KL for the trained LLM unpruned: limits its drift
    end_weight: float = 1.0  # the KL's weight where the source ends the turn (p > 0.5): x this
    compile: str = "auto"  # compile the whole step: auto (on a GPU), true, false
    probe_prompts: int = 8  # held-out prompts per domain for the mask-diversity probe
    init_from: str | None = None  # start from another run's predictor and adapters
    # with init_from: continue that run here (its schedules, data, seeds; the warmup anew)
    start_step: int = 0
    max_seconds: float = 0.0  # stop (and save) once the loop has run this long; 0: no limit
    dequantize: bool | None = None  # unpack a quantized source (default: on CPU; train full)
    dtype: str | None = None  # float32, float16 or bfloat16 weights (default: float32 on CPU)
    memory_limit: float = 0.0  # GB: MLX's memory limit for the run (two runs on one GPU: half)
    grad_checkpoint: bool = False
    seed: int = 0
    save_every: int = 100
    val_every: int = 50
    val_batches: int = 8
    test: bool = False  # after training, score test.jsonl (hard masks at keep), as mlx_lm
    test_batches: int = 500  # -1: the whole test split
    # the records' fields (mlx_lm lora's: {"instruction", "output"} is prompt_feature:
    # instruction, completion_feature: output)
    prompt_feature: str = "prompt"
    completion_feature: str = "completion"
    chat_feature: str = "messages"
    text_feature: str = "text"

    @property
    def features(self) -> dict:
        """The records' fields: mlx-lm's name -> this run's (``batches.to_example``'s keys)."""
        return {key: getattr(self, name) for key, name in FEATURES.items()}

    resume: str | None = None
    quiet: bool = False


def load_config(
    path: str | Path | None = None, *, saved: dict | None = None, **overrides
) -> FinetuneConfig:
    """Defaults, then ``saved`` (the settings of the run ``--resume`` continues), then the YAML
    file, then ``overrides`` (None values are skipped); a run that resumes and names no output
    writes to the folder it resumes."""
    values: dict = {}
    if path:
        import yaml

        try:
            values = yaml.safe_load(Path(path).expanduser().read_text(encoding="utf-8")) or {}
        except UnicodeDecodeError as e:  # a ValueError: it was a traceback
            raise UsageError(f"config {path} is not UTF-8 text (byte {e.start})") from None
        except (yaml.MarkedYAMLError, yaml.reader.ReaderError) as e:  # one line (``yaml_problem``)
            raise UsageError(f"config {path} is not valid YAML{yaml_problem(e)}") from None
        except (OSError, yaml.YAMLError) as e:
            raise UsageError(f"cannot read config {path}{yaml_problem(e)}") from None
        if not isinstance(values, dict):
            raise UsageError(f"config {path} must be a mapping of settings")
    values = {**(saved or {}), **values}  # a partial YAML: the rest is the run's, not defaults
    values.update({k: v for k, v in overrides.items() if v is not None})
    if values.get("resume") and "output" not in values:  # a resumed run (a copy too) writes
        values["output"] = values["resume"]  # where it is, unless an output is named
    known = {f.name for f in fields(FinetuneConfig)}
    unknown = sorted(map(str, set(values) - known))  # YAML's `1: 2`: a key that is no name
    if unknown:
        said = "; ".join(dict.fromkeys(MLX_LM_KEYS[k] for k in unknown if k in MLX_LM_KEYS))
        said = f" (mlx_lm lora: {said})" if said else ""
        raise UsageError(f"unknown config key(s): {', '.join(map(near, unknown))}{said}")
    cfg = FinetuneConfig(**values)
    check(cfg)
    return cfg


def near(key: str) -> str:
    """An unknown config key with the settings it may mean (`learning_rat`, `learning-rate`)."""
    names = [f.name for f in fields(FinetuneConfig)]
    close = get_close_matches(key.replace("-", "_").lower(), names, n=2, cutoff=0.75)
    return (
        f"{key} (did you mean {' or '.join(close)}?)" if close and key not in MLX_LM_KEYS else key
    )


def check(cfg: FinetuneConfig) -> None:
    choices = {"stage": ("pretrain", "sft"), "train": ("frozen", "lora", "full")}
    choices.update(lr_schedule=("constant", "cosine", "linear"), mask_forward=MASK_FORWARD)
    choices.update(compile=("auto", "true", "false"), eps_schedule=("exp", "linear", "constant"))
    said = {"yes": "true", "on": "true", "1": "true", "no": "false", "off": "false", "0": "false"}
    cfg.compile = said.get(c := str(cfg.compile).lower(), c)  # YAML's true, `--compile on`
    for name in ("pack", "grad_checkpoint", "quiet", "dequantize", "test"):  # `pack: "no"`: a str
        value = getattr(cfg, name)
        if isinstance(value, str):
            value = {"true": True, "false": False}.get(said.get(v := value.lower(), v), value)
            setattr(cfg, name, value)
        if not isinstance(value, bool) and (value is not None or name != "dequantize"):
            raise UsageError(f"{name} must be true or false, got {value!r}")
    if isinstance(cfg.train, bool):  # mlx_lm's `train: true`: "do train"
        raise UsageError(
            "train says how the LLM trains here: frozen, lora or full (mlx_lm lora's "
            "`train: true` is what finetune does: leave it out)"
        )
    if isinstance(cfg.lr_schedule, dict):  # mlx_lm's {name, arguments, warmup, warmup_init}
        raise UsageError(
            "lr_schedule is constant, cosine or linear here (mlx_lm lora's {name, arguments, "
            "warmup} is learning_rate, warmup and decay_start)"
        )
    for name, allowed in choices.items():
        if getattr(cfg, name) not in allowed:
            raise UsageError(f"{name} must be one of {', '.join(allowed)}")
    least = dict.fromkeys(("iters", "batch_size", "grad_accumulation", "max_seq_length"), 1)
    least.update(chunks=1, save_every=1, lora_rank=1, val_batches=-1, lora_layers=-1)  # -1: all
    least.update(dict.fromkeys(("repick", "val_every", "warmup", "eps_steps", "seed"), 0))
    least.update(start_step=0, decay_start=0, probe_prompts=0, test_batches=-1)
    for name, low in least.items():
        value = getattr(cfg, name)
        if isinstance(value, bool) or not isinstance(value, int):
            raise UsageError(f"{name} must be a whole number, got {value!r}")
        if value < low or value >= 2**32:  # a seed past it overflows the per-step seeds
            raise UsageError(f"{name} must be >= {low} (and below 2**32), got {value}")
    reals = ("learning_rate", "predictor_lr", "eps_start", "eps_end", "ce", "distill", "anchor",
             "end_weight")  # fmt: skip
    limits = ("memory_limit", "weight_decay", "max_grad_norm", "max_seconds", "lora_scale")
    for name in (*reals, *limits, "lora_dropout", "task_share", "repick_share"):
        value = getattr(cfg, name)
        if isinstance(value, str):  # YAML reads 1e-4 (no dot) as text
            with contextlib.suppress(ValueError):
                setattr(cfg, name, value := float(value))
        if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < inf:
            raise UsageError(f"{name} must be a number >= 0 (and finite), got {value!r}")
    for name in ("model", "data", "output", "init_from", "resume"):  # YAML: `data: 2024` a number
        if not isinstance(getattr(cfg, name), str if name in ("data", "output") else str | None):
            raise UsageError(f"{name} must be a path or name, got {getattr(cfg, name)!r}")
        if name != "model" and getattr(cfg, name):  # `data: ~/corpus`: no shell expands it
            setattr(cfg, name, str(Path(getattr(cfg, name)).expanduser()))
    for name in FEATURES.values():
        if (
            not isinstance(value := getattr(cfg, name), str) or not value
        ):  # YAML's `prompt_feature:`
            raise UsageError(f"{name} must be the name of a field of the records, got {value!r}")
    if cfg.prompt_feature == cfg.completion_feature:
        raise UsageError(f"prompt_feature and completion_feature are both {cfg.prompt_feature!r}")
    if not isinstance(ks := cfg.lora_keys or [], list) or not all(isinstance(k, str) for k in ks):
        raise UsageError(f"lora_keys must be a list of module names, got {cfg.lora_keys!r}")
    if not cfg.ce and not cfg.distill:
        raise UsageError("ce and distill are both 0: the loss is 0 and nothing trains")
    if not cfg.eps_start > 0 < cfg.eps_end:  # SoftTopK's temperature
        raise UsageError(f"eps_start and eps_end must be > 0, got {cfg.eps_start}, {cfg.eps_end}")
    for name, split in (("val_batches", "validation"), ("test_batches", "test")):
        if getattr(cfg, name) == 0:  # mlx_lm's -1: the whole split
            raise UsageError(f"{name} must be -1 (the whole {split} split) or N >= 1, not 0")
    if cfg.train == "lora" and cfg.lora_layers == 0:  # mlx-lm's layers[-0:] is every layer
        raise UsageError("lora_layers must be -1 (every layer) or N >= 1 (the last N), not 0")
    if not cfg.lora_dropout < 1:
        raise UsageError(f"lora_dropout must be in [0, 1), got {cfg.lora_dropout!r}")
    if cfg.grad_checkpoint and cfg.lora_dropout and cfg.train == "lora":
        raise UsageError(  # the recomputation draws new masks: a gradient of another forward
            "grad_checkpoint recomputes each block in the backward pass with new lora_dropout "
            "masks, so the gradient would not be the loss's: set lora_dropout 0 or turn "
            "grad_checkpoint off"
        )
    if cfg.anchor and (cfg.train == "frozen" or not cfg.distill):
        raise UsageError("anchor needs a trained LLM (train lora or full) and distill > 0")
    if cfg.end_weight != 1 and not cfg.distill:
        raise UsageError(f"end_weight {cfg.end_weight:g} weighs the KL to dense: needs distill > 0")
    Budget.parse(cfg.keep)
    check_dtype(cfg.dtype, "dtype")
    if cfg.start_step and (not cfg.init_from or cfg.start_step >= cfg.iters):
        raise UsageError(  # with --resume too: a continued run's checkpoint continues it
            f"start_step ({cfg.start_step}) continues an --init-from run below iters ({cfg.iters})"
        )
    if cfg.decay_start and (cfg.lr_schedule == "constant" or cfg.decay_start >= cfg.iters):
        raise UsageError(
            f"decay_start ({cfg.decay_start}) needs lr_schedule cosine or linear and a step "
            f"below iters ({cfg.iters})"
        )
    reads_griffin = PredictorConfig.parse(cfg.predictor).reads_griffin
    backbone = cfg.predictor.get("backbone", "source")
    if (path := local_path(backbone)) != backbone:  # kept absolute: the run's folder is read
        cfg.predictor = {**cfg.predictor, "backbone": path}  # from anywhere (--adapter, --resume)
    if filled := [n for n in FILLED_IN if n in cfg.predictor]:  # they were replaced silently
        raise UsageError(
            f"predictor {', '.join(filled)}: the run sets these (k from keep, the rest from the "
            "model): leave them out of the predictor block"
        )
    share = cfg.repick_share
    if isinstance(share, bool) or not isinstance(share, int | float) or not 0 < share <= 1:
        raise UsageError(f"repick_share must be a number in (0, 1], got {share!r}")
    B, picking = cfg.batch_size, round(share * cfg.batch_size) if cfg.repick else 0
    if cfg.task_share and (cfg.stage != "sft" or not 0 < round(cfg.task_share * B) <= B - picking):
        raise UsageError(
            f"task_share {cfg.task_share:g} needs stage 2 (sft) and 1 to {B - picking} of the "
            f"{B} rows of a batch (those that do not re-pick)"
        )
    if share < 1 and (not cfg.repick or round(share * cfg.batch_size) == 0):
        raise UsageError(
            f"repick_share {share:g} needs --repick N and at least one re-picking row of "
            f"{cfg.batch_size} per batch"
        )
    if cfg.repick and (cfg.stage != "sft" or not reads_griffin):
        raise UsageError("repick is for stage 2 (sft) with a predictor whose head is 'griffin'")
    if cfg.pack and cfg.stage != "pretrain":  # before the model loads, not at the data
        raise UsageError("pack joins plain texts: it is for stage 1 (pretrain) only")
    if cfg.stage == "pretrain" and (cfg.chunks < 2 or cfg.max_seq_length < 2 * cfg.chunks):
        raise UsageError("stage 1 needs chunks >= 2 and max_seq_length >= 2 * chunks")
    if cfg.stage == "pretrain" and cfg.max_seq_length % cfg.chunks:
        raise UsageError(
            f"stage 1 cuts max_seq_length ({cfg.max_seq_length}) into {cfg.chunks} equal chunks: "
            "make it a multiple of chunks"
        )


def check_lora_layers(cfg, n: int) -> None:
    """Refuse more LoRA layers than the model's ``n``, as mlx_lm lora does (not the default 16
    on a smaller model: every layer; nor a resumed run: its checkpoint's count)."""
    more = cfg.train == "lora" and cfg.lora_layers > n and not cfg.resume
    if more and cfg.lora_layers != FinetuneConfig.lora_layers:
        raise UsageError(
            f"lora_layers {cfg.lora_layers}: the model has only {n} layers: give {n} or fewer, "
            "or -1 for every layer"
        )


def local_path(name: str) -> str:
    """A predictor backbone that is a local folder as an absolute path; else as given (the
    source, a Hugging Face repo id)."""
    path = Path(name).expanduser()
    return str(path.resolve()) if name != "source" and path.exists() else name


def adapter_config(cfg) -> dict:
    """mlx-lm's ``adapter_config.json`` for the LLM part (``load_adapters`` reads it)."""
    lora = {"rank": cfg.lora_rank, "scale": cfg.lora_scale, "dropout": cfg.lora_dropout}
    lora.update({"keys": list(cfg.lora_keys)} if cfg.lora_keys else {})
    return {"fine_tune_type": cfg.train, "num_layers": cfg.lora_layers, "lora_parameters": lora}


def data_settings(cfg, tokenizer, model) -> dict:
    """``batches.load_data``'s arguments for a ``finetune`` run: its train and valid splits (the
    test split with ``test`` alone; the valid one with validation off too: the mask probe reads
    it), ids checked against ``model``'s vocabulary, stage 1 texts with nothing to score
    dropped, the records' fields as the run names them, a status line while a big file is read
    (rank 0, unless ``quiet``)."""
    chunk = cfg.max_seq_length // cfg.chunks if cfg.stage == "pretrain" else 0
    splits = ("train", "valid", "test")[: 2 + cfg.test]  # (``batches.SPLITS``)
    return dict(folder=cfg.data, tokenizer=tokenizer, stage=cfg.stage, max_len=cfg.max_seq_length,
                packed=cfg.pack, vocab=vocab_size(model), validating=bool(cfg.val_every),
                chunk=chunk, splits=splits, keys=cfg.features,
                shown=not cfg.quiet and mx.distributed.init().rank() == 0)  # fmt: skip


#: (world size, rank) variables a launcher sets: mlx.launch (nccl), Open MPI's mpirun
LAUNCHERS = (("MLX_WORLD_SIZE", "MLX_RANK"), ("OMPI_COMM_WORLD_SIZE", "OMPI_COMM_WORLD_RANK"))


def launched() -> tuple[int, int, str]:
    """(rank, world size, the variable that says so) a launcher gave this process; (0, 1, "")
    when none did. mlx.launch's ring and jaccl backends name a file of one entry per rank."""
    for size, rank in LAUNCHERS:
        with contextlib.suppress(ValueError):
            if int(os.environ.get(size, "1")) > 1:
                return int(os.environ.get(rank, "0")), int(os.environ[size]), size
    for name in ("MLX_HOSTFILE", "MLX_IBV_DEVICES"):  # ring; jaccl: its ranks' RDMA devices
        if (file := os.environ.get(name)) and "MLX_RANK" in os.environ:
            with contextlib.suppress(OSError, ValueError, TypeError):
                if (world := len(json.loads(Path(file).read_text()))) > 1:
                    return int(os.environ["MLX_RANK"]), world, name
    return 0, 1, ""


def world_problem(cfg, group) -> tuple[str, int] | None:
    """Why ``cfg`` cannot run data-parallel over ``group`` and the rank that says it, or None:
    a launcher started several processes but ``mx.distributed.init()`` found no backend (each
    would train alone, as rank 0, into one output folder), or a batch the ranks cannot split."""
    rank, world, said = launched()
    n = group.size()
    if n == 1 and world > 1:
        return (
            f"started as process {rank} of {world} ({said}), but MLX found no working "
            f"distributed backend here, so each process would train alone and write "
            f"{cfg.output}: launch with a backend this MLX has (mlx.launch --backend ring works "
            "on any machine; nccl needs CUDA GPUs), or run one process without mlx.launch"
        ), rank
    if cfg.batch_size % n:
        return (
            f"batch size {cfg.batch_size} is not divisible by {n} processes: --batch-size is the "
            f"global batch, each process takes batch_size / {n} of its rows: give a multiple of {n}"
        ), group.rank()
    return None


def global_rows(B: int, group=None) -> mx.array:
    """The batch index of each of this rank's B rows (rank r holds rows r, r + world, ...)."""
    rank, world = (group.rank(), group.size()) if group is not None else (0, 1)
    return rank + world * mx.arange(B)


def repicking_rows(B: int, cfg, group=None) -> mx.array | None:
    """Which of this rank's B rows re-pick under ``repick_share``: the global rows below
    ``round(repick_share * batch_size)`` (rank r holds rows r, r + world, ...), so a batch
    split over ranks re-picks the same rows as one process."""
    if cfg.repick_share >= 1:
        return None
    return global_rows(B, group) < round(cfg.repick_share * cfg.batch_size)


def task_rows(B: int, cfg, group=None) -> mx.array:
    """Which of this rank's B rows run a per-task mask under ``task_share``: the last
    ``round(task_share * batch_size)`` global rows (re-picking rows are the first ones)."""
    return global_rows(B, group) >= cfg.batch_size - round(cfg.task_share * cfg.batch_size)
