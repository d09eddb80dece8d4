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
from functools import partial
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim

from ..core import Budget, ffn, fingerprint
from ..core.softtopk import eps_schedule
from ..errors import UsageError
from ..sources.predictor import PredictorConfig, new_predictor
from . import checkpoint
from .batches import Batches, load_data
from .config import FinetuneConfig, check
from .llm import Joint, prepare_llm
from .objective import evaluate, gradients


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


def optimizers(cfg: FinetuneConfig) -> dict:
    """AdamW for the predictor (and for the LLM unless it is frozen), on their schedules."""
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
    from .progress import Progress

    cfg = config
    check(cfg)
    group = mx.distributed.init()
    rank = group.rank()
    if model is None:
        from ..models import load

        model, tokenizer = load(cfg.model)
    source_fp = fingerprint(model)
    prepare_llm(model, cfg)
    k = Budget.parse(cfg.keep).channels(ffn.d_ffn(model))
    mx.random.seed(cfg.seed)
    predictor = new_predictor(model, PredictorConfig(**cfg.predictor), tokenizer)
    joint = Joint(predictor, model)
    opts = optimizers(cfg)
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
