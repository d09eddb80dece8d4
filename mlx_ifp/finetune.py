"""Joint training of the sparsity predictor and the LLM: ``finetune(config) -> output folder``.

Data -> batches -> masks from the predictor (SoftTopK, eps annealed) -> masked forward -> CE
(+ optional KL to the same weights run unmasked) -> gradients (summed over ranks, then divided
by the token count, so any split of a batch gives the same step) -> Adam -> checkpoint.
Stage 1 (``pretrain``): the mask predicted from chunk j is applied while predicting chunk j+1,
in one forward pass with position-dependent masks. Stage 2 (``sft``): the mask comes from the
first user turn, the loss is on the response tokens.
"""

from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field, fields
from functools import partial
from pathlib import Path
from typing import Annotated

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
import typer
from mlx.utils import tree_map

from . import checkpoint, ffn
from .batches import Batch, Batches, load_data
from .errors import UsageError
from .mask import fingerprint, resolve_keep
from .predictor import Predictor, PredictorConfig, new_predictor
from .softtopk import eps_schedule, soft_topk, topk_indicator, training_mask


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
    mask_forward: str = "soft"  # "soft": l * TopK(l) (paper); "hard_st": 0/1 top-k, ST gradient
    distill: float = 0.0  # weight of the KL to the unmasked model
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
    for name in ("iters", "batch_size", "grad_accumulation", "max_seq_length", "chunks"):
        if getattr(cfg, name) < 1:
            raise UsageError(f"{name} must be >= 1")
    if cfg.stage == "pretrain" and (cfg.chunks < 2 or cfg.max_seq_length < 2 * cfg.chunks):
        raise UsageError("stage 1 needs chunks >= 2 and max_seq_length >= 2 * chunks")


# ---------------------------------------------------------------- model and predictor


class Joint(nn.Module):
    """The trained pair: one tree of parameters for one ``value_and_grad``."""

    def __init__(self, predictor: Predictor, llm: nn.Module):
        super().__init__()
        self.predictor = predictor
        self.llm = llm


def prepare_llm(model: nn.Module, cfg: FinetuneConfig) -> nn.Module:
    """Freeze the LLM, give it mlx-lm LoRA layers, or leave it all trainable."""
    from mlx_lm.tuner.utils import linear_to_lora_layers

    ffn.install(model)
    model.freeze()
    if cfg.train == "lora":
        lora = checkpoint.adapter_config(cfg)["lora_parameters"]
        linear_to_lora_layers(model, cfg.lora_layers, lora)
    elif cfg.train == "full":
        model.unfreeze()
    if cfg.grad_checkpoint:
        checkpoint_layers(model)
    return model


_CKPT: dict[type, type] = {}


def checkpoint_layers(model: nn.Module) -> None:
    """Recompute each block in the backward pass; the layer's FFN masks pass in as inputs."""

    def wrap(call):
        def checkpointed(self, x, *args, **kwargs):
            masks = ffn._MASKS.get()

            def inner(params, x, *m):
                self.update(params)
                token = ffn._MASKS.set(list(m) if m else None)
                try:
                    return call(self, x, *args, **kwargs)
                finally:
                    ffn._MASKS.reset(token)

            return mx.checkpoint(inner)(self.trainable_parameters(), x, *(masks or []))

        return checkpointed

    for layer in ffn.layers(model):
        cls = type(layer)
        if cls in _CKPT.values():
            continue
        if cls not in _CKPT:
            _CKPT[cls] = type(cls.__name__, (cls,), {"__call__": wrap(cls.__call__)})
        layer.__class__ = _CKPT[cls]


# ---------------------------------------------------------------- masked forward and loss


MASK_FORWARD = ("soft", "hard_st")


def make_masks(scores: mx.array, k: int, eps: float, how: str, hard: bool) -> mx.array:
    """Scores -> the masks of the masked forward.

    ``hard`` (evaluation): the 0/1 top-k of the scores, as at inference. Training: ``soft`` is
    the paper's ``l * TopK(l)``; ``hard_st`` runs the same 0/1 top-k mask as inference in the
    forward pass and takes the SoftTopK gradient in the backward pass (straight through:
    ``TopK(s) + l - stop_gradient(l)``), so dropped channels get a gradient too.
    """
    if hard:
        return topk_indicator(scores, k)
    if how == "hard_st":
        soft = soft_topk(scores, k, eps)
        return mx.stop_gradient(topk_indicator(scores, k)) + soft - mx.stop_gradient(soft)
    return training_mask(scores, k, eps)


def chunk_masks(pred: Predictor, batch: Batch, k: int, eps: float, K: int, hard: bool, how="soft"):
    """Stage 1: (B, L, T, d) masks, chunk j's prediction on the targets of chunk j+1."""
    x = batch.tokens[:, :-1]
    B, T = x.shape
    c = T // K if T % K == 0 and T >= K else None
    if c is None:
        raise ValueError(f"inputs of {T} tokens do not split into {K} chunks")
    chunks = x[:, : (K - 1) * c].reshape(B * (K - 1), c)
    lens = mx.clip(batch.lengths[:, None] - mx.arange(K - 1)[None] * c, 1, c).reshape(-1)
    scores = pred(chunks, lens)
    m = make_masks(scores, k, eps, how, hard)
    m = m.reshape(B, K - 1, *m.shape[1:])  # (B, K-1, L, d)
    m = mx.concatenate([mx.ones_like(m[:, :1]), m], axis=1)  # chunk 0 runs dense
    chunk_of = (mx.arange(T) + 1) // c  # the chunk of each input position's target
    return mx.take(m, mx.minimum(chunk_of, K - 1), axis=1).transpose(0, 2, 1, 3), c


def forward(joint: Joint, batch: Batch, k: int, eps: float, cfg, hard: bool = False):
    """Masked logits (B, T, V) and the per-target loss weights (B, T)."""
    inputs = batch.tokens[:, :-1]
    T = inputs.shape[1]
    steps = mx.arange(1, T + 1)[None]  # position of each target token
    weight = (steps < batch.lengths[:, None]) & (steps >= batch.offsets[:, None])
    if cfg.stage == "pretrain":
        masks, c = chunk_masks(joint.predictor, batch, k, eps, cfg.chunks, hard, cfg.mask_forward)
        weight = weight & (steps >= c)
    else:
        scores = joint.predictor(batch.prompt, batch.prompt_lengths)
        masks = make_masks(scores, k, eps, cfg.mask_forward, hard)
    with ffn.masked(joint.llm, masks):
        logits = joint.llm(inputs)
    return logits, weight.astype(mx.float32)


def loss_sum(joint: Joint, batch: Batch, k: int, eps: float, cfg, hard: bool = False):
    """(summed CE [+ distill * summed KL], scored tokens, summed CE) over the batch."""
    logits, w = forward(joint, batch, k, eps, cfg, hard)
    targets = batch.tokens[:, 1:]
    ce = (nn.losses.cross_entropy(logits, targets) * w).sum()
    total = ce
    if cfg.distill > 0 and not hard:
        with ffn.masked(joint.llm, None):
            teacher = mx.stop_gradient(joint.llm(batch.tokens[:, :-1]))
        logp_t = nn.log_softmax(teacher, axis=-1)
        logp_s = nn.log_softmax(logits, axis=-1)
        kl = (mx.exp(logp_t) * (logp_t - logp_s)).sum(-1)
        total = total + cfg.distill * (kl * w).sum()
    return total, w.sum(), ce


def gradients(joint: Joint, batches: list, k: int, eps: float, cfg, group=None):
    """Token-mean gradients over micro-batches and ranks, the mean loss and the token count."""
    vg = nn.value_and_grad(joint, lambda j, b: loss_sum(j, b, k, eps, cfg)[:2])
    acc, loss, ntok = None, mx.array(0.0), mx.array(0.0)
    for b in batches:
        (lv, nt), g = vg(joint, b)
        acc = g if acc is None else tree_map(mx.add, acc, g)
        loss, ntok = loss + lv, ntok + nt
    if group is not None and group.size() > 1:
        acc = tree_map(lambda a: mx.distributed.all_sum(a, group=group), acc)
        loss = mx.distributed.all_sum(loss, group=group)
        ntok = mx.distributed.all_sum(ntok, group=group)
    n = mx.maximum(ntok, 1.0)
    return tree_map(lambda a: a / n, acc), loss / n, ntok


def evaluate(joint: Joint, data: Batches, n_batches: int, k: int, cfg, group=None) -> float:
    """Mean CE per scored token with hard top-k masks (what inference uses)."""
    tot, ntok = mx.array(0.0), mx.array(0.0)
    for b in range(min(n_batches, data.per_epoch)):
        _, nt, ce = loss_sum(joint, data(b), k, 1.0, cfg, hard=True)
        tot, ntok = tot + ce, ntok + nt
        mx.eval(tot, ntok)
    if group is not None and group.size() > 1:
        tot, ntok = (
            mx.distributed.all_sum(tot, group=group),
            mx.distributed.all_sum(ntok, group=group),
        )
    return (tot / mx.maximum(ntok, 1.0)).item()


# ---------------------------------------------------------------- the run


def _schedule(lr: float, cfg: FinetuneConfig):
    if cfg.lr_schedule == "constant":
        main = lr
    elif cfg.lr_schedule == "cosine":
        main = optim.cosine_decay(lr, max(cfg.iters - cfg.warmup, 1))
    else:
        main = optim.linear_schedule(lr, 0.0, max(cfg.iters - cfg.warmup, 1))
    if cfg.warmup <= 0:
        return main
    main = main if callable(main) else (lambda _: mx.array(lr))
    return optim.join_schedules([optim.linear_schedule(0.0, lr, cfg.warmup), main], [cfg.warmup])


def _optimizers(cfg: FinetuneConfig) -> dict:
    make = lambda lr: optim.AdamW(_schedule(lr, cfg), weight_decay=cfg.weight_decay)  # noqa: E731
    opts = {"predictor": make(cfg.predictor_lr)}
    if cfg.train != "frozen":
        opts["llm"] = make(cfg.learning_rate)
    return opts


def compiled_update(opt: optim.Optimizer, module: nn.Module):
    """``opt.update(module, grads)`` as one compiled graph, with the module's and optimizer's
    state as inputs and outputs (as mlx-lm's step): AdamW's elementwise chain then runs as one
    fused pass over each weight instead of several. Same arithmetic (bit for bit on cpu). The
    state is initialised first, so one trace serves every step; build it after a restore."""
    opt.init(module.trainable_parameters())
    state = [module.state, opt.state]

    @partial(mx.compile, inputs=state, outputs=state)
    def update(grads):
        opt.update(module, grads)

    return update


def finetune(config: FinetuneConfig, model: nn.Module | None = None, tokenizer=None) -> Path:
    """Train the predictor (and LoRA or all LLM weights) jointly; return the output folder.

    ``model``/``tokenizer`` may be passed in (tests); otherwise ``config.model`` is loaded.
    """
    from .train_ui import Progress

    cfg = config
    check(cfg)
    group = mx.distributed.init()
    rank = group.rank()
    if model is None:
        from .load import load

        model, tokenizer = load(cfg.model)
    source_fp = fingerprint(model)
    prepare_llm(model, cfg)
    k = resolve_keep(cfg.keep, ffn.d_ffn(model))
    mx.random.seed(cfg.seed)
    predictor = new_predictor(model, PredictorConfig(**cfg.predictor), tokenizer)
    joint = Joint(predictor, model)
    opts = _optimizers(cfg)
    train, valid, _ = load_data(cfg.data, tokenizer, cfg.stage, cfg.max_seq_length)
    multiple = cfg.max_seq_length // cfg.chunks if cfg.stage == "pretrain" else 8
    train_b = Batches(train, cfg.batch_size, cfg.seed, multiple, group)
    valid_b = Batches(valid, cfg.batch_size, cfg.seed, multiple, group) if valid else None
    eps_at = eps_schedule(cfg.eps_start, cfg.eps_end, cfg.eps_steps or cfg.iters, cfg.eps_schedule)
    step, history, val_history = 0, [], []
    if cfg.resume:
        state = checkpoint.restore(cfg.resume, predictor, model, opts)
        step, history, val_history = state["step"], state["history"], state.get("val", [])
    out = Path(cfg.output)
    ifp = {"source": {"model": cfg.model, **source_fp}, "k": k, "keep": cfg.keep}
    ifp["d_ffn"] = ffn.d_ffn(model)

    def save(at: int) -> None:
        if rank == 0:
            state = {"step": at, "batches_consumed": at * cfg.grad_accumulation, "seed": cfg.seed}
            state.update(rng=[cfg.seed, at], history=history, val=val_history)
            state["config"] = dataclasses.asdict(cfg)
            checkpoint.save(out, predictor, model, opts, state, ifp, cfg)
        if group.size() > 1:
            mx.eval(mx.distributed.all_sum(mx.array(0.0), group=group))  # barrier

    update = {"predictor": compiled_update(opts["predictor"], predictor)}
    if "llm" in opts:
        update["llm"] = compiled_update(opts["llm"], model)
    saved_at = step if cfg.resume else None
    ui = Progress(cfg.iters, start=step, enabled=rank == 0 and not cfg.quiet)
    with ui:
        while step < cfg.iters:
            if valid_b and cfg.val_every and (step % cfg.val_every == 0):
                val_history.append([step, evaluate(joint, valid_b, cfg.val_batches, k, cfg, group)])
                ui.note(f"step {step}: val loss {val_history[-1][1]:.4f}")
            tic = time.perf_counter()
            mx.random.seed(cfg.seed * 1_000_003 + step)  # dropout etc.: a function of the step
            eps = eps_at(step)
            micro = [
                train_b(step * cfg.grad_accumulation + i) for i in range(cfg.grad_accumulation)
            ]
            grads, loss, ntok = gradients(joint, micro, k, eps, cfg, group)
            mx.eval(grads, loss, ntok)
            value = loss.item()
            if not math.isfinite(value):
                where = f"{out} (step {saved_at})" if saved_at is not None else "none written yet"
                raise UsageError(
                    f"loss is {value} at step {step + 1}: stopped; last good checkpoint: {where}"
                )
            if cfg.max_grad_norm > 0:
                grads, _ = optim.clip_grad_norm(grads, cfg.max_grad_norm)
            for name, fn in update.items():
                fn(grads[name])
            mx.eval(joint.trainable_parameters(), [o.state for o in opts.values()])
            step += 1
            history.append(value)
            ui.advance(value, int(ntok.item()) / (time.perf_counter() - tic), eps)
            if step % cfg.save_every == 0 or step == cfg.iters:
                save(step)
                saved_at = step
    if valid_b and cfg.val_every:
        val_history.append([step, evaluate(joint, valid_b, cfg.val_batches, k, cfg, group)])
        save(step)
    ui.summary(history, val_history, out)
    return out


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
    save_every: Annotated[int | None, typer.Option(help="Checkpoint every N steps.")] = None,
    val_every: Annotated[int | None, typer.Option(help="Validate every N steps.")] = None,
    resume: Annotated[str | None, typer.Option(help="Continue from this checkpoint.")] = None,
):
    """Train the sparsity predictor jointly with the LLM (frozen, LoRA or full)."""
    overrides = {k: v for k, v in locals().items() if k != "config"}
    if resume and not config:
        saved = checkpoint.read_state(resume)["config"]
        overrides = {**saved, **{k: v for k, v in overrides.items() if v is not None}}
    cfg = load_config(config, **overrides)
    path = finetune(cfg)
    if mx.distributed.init().rank() == 0:
        typer.echo(f"Saved predictor and adapters to {path}")
