"""Joint training of the sparsity predictor and the LLM: ``finetune(config) -> output folder``.

Data -> batches -> masks from the predictor (SoftTopK, eps annealed) -> masked forward -> CE
(+ KL to the frozen source model, unmasked) -> gradients (summed over ranks, then divided
by the token count, so any split of a batch gives the same step) -> Adam -> checkpoint.
The masks of stage 1 (``pretrain``) and stage 2 (``sft``): ``objective``.

What a run shows while it runs (``Progress``): progress over optimizer steps (loss, tokens/s,
peak memory; a bar on a terminal, plain lines elsewhere, as ``mlx_ifp.common.Progress``),
validation notes, and a final summary.
"""

from __future__ import annotations

import dataclasses
import math
import signal
import threading
import time
from functools import partial
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
import mlx.optimizers as optim
from mlx.utils import tree_flatten

from ..core import Budget, Interrupted, UsageError, d_ffn, eps_schedule, fingerprint
from ..core import Progress as CommandProgress
from ..sources.predictor import PredictorConfig, new_predictor
from . import checkpoint
from .batches import Batch, Batches, check_data, load_data, warn
from .config import FinetuneConfig, check, data_settings, world_problem
from .objective import (
    COLLAPSED,
    Joint,
    diverging,
    evaluate,
    frozen_copy,
    gradients,
    measure,
    micro_gradients,
    prepare_llm,
    probe_set,
    summed,
)

LORA_INIT_SEED = 7919  # offsets the LoRA initialisation's seed from the predictor's


def lr_schedule(lr: float, cfg: FinetuneConfig):
    """Warm-up, then constant, or held until ``decay_start`` and decayed to 0 at ``iters``; in
    optimizer steps: a run continued at ``start_step`` has a new optimizer (its schedule spans
    the steps left), a resumed run's restored one carries its count on."""
    begin = max(cfg.decay_start - cfg.start_step, cfg.warmup)  # optimizer steps before the decay
    parts, bounds = [lambda _: mx.array(lr)], []  # held
    if cfg.lr_schedule != "constant":
        steps = max(cfg.iters - cfg.start_step - begin, 1)
        if cfg.lr_schedule == "cosine":
            decay = optim.cosine_decay(lr, steps)
        else:
            decay = optim.linear_schedule(lr, 0.0, steps)
        parts, bounds = ([*parts, decay], [begin]) if begin > cfg.warmup else ([decay], [])
    if cfg.warmup > 0:
        parts, bounds = [optim.linear_schedule(0.0, lr, cfg.warmup), *parts], [cfg.warmup, *bounds]
    if len(parts) == 1:  # no warm-up: a plain rate, or the decay alone
        return lr if cfg.lr_schedule == "constant" else parts[0]
    return optim.join_schedules(parts, bounds)


def optimizers(cfg: FinetuneConfig) -> dict:
    """AdamW for the predictor (and for the LLM unless it is frozen), on their schedules."""
    make = lambda lr: optim.AdamW(lr_schedule(lr, cfg), weight_decay=cfg.weight_decay)  # noqa: E731
    opts = {"predictor": make(cfg.predictor_lr)}
    if cfg.train != "frozen":
        opts["llm"] = make(cfg.learning_rate)
    return opts


def make_step(joint: Joint, opts: dict, k: int, cfg: FinetuneConfig, group):
    """One optimizer step over a list of micro-batches: ``step(arrays, eps) -> (loss, ntok)``.

    Each micro-batch's forward and backward, then the all-reduce, clipping and AdamW updates,
    run as two compiled graphs (as mlx-lm's trainer does) when ``cfg.compile`` says so; states
    are their inputs and outputs. Micro-batches are evaluated one by one. Build after a restore.
    """
    for name, opt in opts.items():
        opt.init(getattr(joint, name).trainable_parameters())

    def micro(arrays: tuple, eps: mx.array):
        return micro_gradients(joint, Batch(*arrays), k, eps, cfg, group)

    def update(grads, loss: mx.array):
        if cfg.max_grad_norm > 0:
            grads, _ = optim.clip_grad_norm(grads, cfg.max_grad_norm)
        for name, opt in opts.items():
            opt.update(getattr(joint, name), grads[name])
        return loss

    if compiling(cfg):
        # the frozen teacher and a separate backbone are not children of ``joint``: their
        # arrays are inputs too, or the compiled graph would hold uncaptured inputs
        aside = [joint.teacher, joint.predictor.backbone]
        aside = [m.state for m in aside if m is not None and m is not joint.llm]
        seen = [joint.state, mx.random.state, aside]  # what a forward may write, too
        micro = partial(mx.compile, inputs=seen, outputs=seen)(micro)
        state = [joint.state, [o.state for o in opts.values()]]
        update = partial(mx.compile, inputs=state, outputs=state)(update)

    def step(arrays: list, eps: mx.array):
        grads, loss, ntok = gradients(
            joint, arrays, k, eps, cfg, group, micro=lambda a: micro(a, eps)
        )
        return update(grads, loss), ntok

    return step


def compiling(cfg: FinetuneConfig) -> bool:
    """``compile: auto`` compiles the step on a GPU, not on the CPU (where tests run)."""
    if cfg.compile == "auto":
        return mx.default_device() != mx.cpu
    return cfg.compile in (True, "true", "yes", 1)


class StopOnSigint:
    """While active, a first Ctrl-C (SIGINT) only sets ``requested``: the loop finishes its step,
    saves and stops. A second Ctrl-C interrupts at once. Outside the main thread it does nothing.
    """

    def __init__(self):
        self.requested, self.previous = False, None

    def _handle(self, signum, frame):
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self.previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc):
        if self.previous is not None:
            signal.signal(signal.SIGINT, self.previous)
        return False


def finetune(config: FinetuneConfig, model: nn.Module | None = None, tokenizer=None) -> Path:
    """Train the predictor (and LoRA or all LLM weights) jointly; return the output folder.

    ``model``/``tokenizer`` may be passed in (tests); otherwise ``config.model`` is loaded.
    With ``memory_limit``, MLX's memory and cache limits hold for the run, then are restored.
    """
    if not config.memory_limit:
        return _finetune(config, model, tokenizer)
    # MLX frees its buffer cache before passing the limit; a quarter of it stays for reuse
    memory = mx.set_memory_limit(int(config.memory_limit * 1e9))
    cache = mx.set_cache_limit(int(config.memory_limit * 1e9 / 4))
    try:
        return _finetune(config, model, tokenizer)
    finally:
        mx.set_memory_limit(memory)
        mx.set_cache_limit(cache)


def _finetune(cfg: FinetuneConfig, model: nn.Module | None, tokenizer) -> Path:
    check(cfg)
    group = mx.distributed.init()
    rank = group.rank()
    if said := world_problem(cfg, group):  # a launch gone wrong: refused by all, said by one
        raise (checkpoint.Refused if said[1] else UsageError)(said[0])
    # before any work, rank 0 checks the output and sweeps it; a refusal stops every rank
    checkpoint.on_rank0(partial(checkpoint.check_output, cfg), group)
    check_data(cfg.data)  # no data, or a missing, partial or corrupted checkpoint (below):
    resumed = checkpoint.verify(cfg.resume) if cfg.resume else None  # refused before the load
    if model is None:  # a full run trains every weight: unpacked by default (packed: none)
        from ..models import load

        unpack = True if cfg.dequantize is None and cfg.train == "full" else cfg.dequantize
        model, tokenizer = load(cfg.model, dequantize=unpack, dtype=cfg.dtype)
    packed = any(p.dtype == mx.uint32 for _, p in tree_flatten(model.parameters()))
    if cfg.train == "full" and packed:
        raise UsageError(
            f"train full trains every weight of {cfg.model}, and its packed (quantized) weights "
            "have no gradient: load it unpacked (--dequantize) or train LoRA (--train lora)"
        )
    source_fp = fingerprint(model)
    teacher = frozen_copy(model) if cfg.train == "full" else None
    # LoRA's A matrices are random: seeded too, or two runs of one config part at step 2
    mx.random.seed(cfg.seed * 1_000_003 + LORA_INIT_SEED)
    prepare_llm(model, cfg)
    k = Budget.parse(cfg.keep).channels(d_ffn(model))
    mx.random.seed(cfg.seed)
    predictor = new_predictor(model, PredictorConfig(**{**cfg.predictor, "k": k}), tokenizer)
    ends = getattr(tokenizer, "eos_token_ids", None)  # end_weight's; none: refused here
    joint = Joint(predictor, model, teacher, ends, cfg.end_weight)
    opts = optimizers(cfg)
    step, history, val_history, div_history = 0, [], [], []
    run = {"tokens": 0, "tokens_seen": 0, "seconds": 0.0, "device": str(mx.default_device())}
    ifp = {"source": {"model": cfg.model, **source_fp}, "k": k, "keep": cfg.keep}
    ifp.update(d_ffn=d_ffn(model), train=cfg.train, stage=cfg.stage)
    if cfg.init_from and not cfg.resume:  # another run's weights (resumed: the checkpoint's)
        checkpoint.init_weights(cfg.init_from, predictor, model, ifp, cfg)
        step = cfg.start_step
    if cfg.resume:  # made for this model, budget and settings? (before the data)
        checkpoint.check_fits(cfg.resume, resumed, ifp, dataclasses.asdict(predictor.config), cfg)
        state = checkpoint.restore(cfg.resume, predictor, model, opts, resumed)
        step, history, val_history = state["step"], state["history"], state.get("val", [])
        div_history = state.get("diversity", [])
        run.update(state.get("run", {}), device=run["device"])
        if step > cfg.iters:
            raise UsageError(
                f"checkpoint {cfg.resume} is at step {step}, past --iters {cfg.iters}: "
                f"resume with --iters {step} or more"
            )
    files = dict((resumed or {}).get("data_files") or {})  # as the run read them (test: --test)
    train, valid, test = load_data(**data_settings(cfg, tokenizer, model), seen=files)
    if cfg.task_share and all(e.domain < 0 for e in train):
        warn("task_share: no training record has a 'domain', so every row runs its own mask")
    # stage 1: every batch is max_seq_length wide, so the chunks are the configured ones
    multiple = cfg.max_seq_length if cfg.stage == "pretrain" else 8
    if compiling(cfg) and cfg.stage == "sft":
        multiple = 64  # fewer distinct shapes: fewer traces of the compiled step
    train_b = Batches(train, cfg.batch_size, cfg.seed, multiple, group)

    def batches_of(name: str, examples: list, instead: str) -> Batches:  # whole batches, as mlx_lm
        path = Path(cfg.data) / f"{name}.jsonl"
        if len(examples) < cfg.batch_size:  # refused before the first step
            n = f"has {len(examples)} usable examples, fewer than one batch ({cfg.batch_size})"
            raise UsageError(f"{path} {n if path.is_file() else 'is missing'}: {instead}")
        return Batches(examples, cfg.batch_size, cfg.seed, multiple, group)

    valid_b = (
        batches_of("valid", valid, "add some, or set --val-every 0")
        if valid and cfg.val_every
        else None
    )
    test_b = batches_of("test", test, "add some, or leave out --test") if cfg.test else None
    probes = probe_set(cfg.data, tokenizer, cfg.probe_prompts, cfg.seed, keys=cfg.features)
    eps_at = eps_schedule(cfg.eps_start, cfg.eps_end, cfg.eps_steps or cfg.iters, cfg.eps_schedule)
    out = Path(cfg.output)
    last_good = (cfg.resume, step) if cfg.resume else None
    # where the data goes on: resumed, the checkpoint's position (older ones counted batches)
    pos = train_b.position(step * cfg.grad_accumulation)
    if cfg.resume:
        old, done = state["config"], state.get("batches_consumed", 0)
        pos = tuple(state.get("data_position") or train_b.position(done, old["batch_size"]))
    began = time.perf_counter()  # max_seconds: this process's loop (steps, validation, saving)
    # the step validated last: a resumed run does not validate its first step again
    checked = max([r[0] for r in val_history] + [d["step"] for d in div_history], default=-1)

    def save(at: int) -> None:  # rank 0 writes, the others wait (and stop if it failed)
        checkpoint.on_rank0(partial(write, at), group)

    def write(at: int) -> None:
        state = {"step": at, "data_position": list(pos), "seed": cfg.seed}
        state.update(batches_consumed=at * cfg.grad_accumulation)
        state.update(rng=[cfg.seed, at], history=history, val=val_history, run=run)
        state.update(diversity=div_history, config=checkpoint.saved_config(cfg), data_files=files)
        try:
            checkpoint.save(out, predictor, model, opts, state, ifp, cfg)
        except UsageError as e:  # e.g. the disk is full
            raise UsageError(f"{e}; stopped at step {at}; {good()}") from None

    def good() -> str:
        where = "{} (step {})".format(*last_good) if last_good else "none written yet"
        return f"last good checkpoint: {where}"

    # the divergence warning watches the loss trained on and names the rate that moves it
    column, name = (2, "KL to source") if cfg.distill else (1, "CE")
    rate = "--predictor-lr" if cfg.train == "frozen" else "--learning-rate"

    def validate() -> None:
        nonlocal checked
        checked = step
        if valid_b and cfg.val_every:
            val = evaluate(joint, valid_b, cfg.val_batches, k, cfg, group)
            val_history.append([step, val["ce"], val["kl"]])
            kl = f", KL to source {val['kl']:.4f}" if cfg.distill else ""  # 0: not computed
            ui.note(f"step {step}: val CE {val['ce']:.4f}{kl}")
            if hit := diverging(val_history, column):
                ui.note(
                    f"warning: training is diverging: validation {name} rose to "
                    f"{val_history[-1][column]:.4f} from its best, {hit[1]:.4f} at step {hit[0]}; "
                    f"try a lower {rate} or a longer --warmup"
                )
        div = measure(predictor, probes, k) if probes and rank == 0 else {}
        if div:
            div_history.append({"step": step, **div})
            ui.note(
                f"step {step}: mask Jaccard within {div['jaccard_within']:.3f}, across "
                f"{div['jaccard_across']:.3f}, score spread {div['score_std']:.3f}, "
                f"rank spread {div['rank_std']:.3f}"
            )
            trained = step > 0  # a fresh predictor's first masks say nothing of training yet
            if trained and div["jaccard_across"] > COLLAPSED and predictor.config.head != "static":
                ui.note("warning: the masks are collapsing to one mask for every prompt")

    train_step = make_step(joint, opts, k, cfg, group)
    # resumed into another folder: nothing is there yet, so a run with no step left saves too
    saved_at = step if cfg.resume and Path(cfg.resume).resolve() == out.resolve() else None
    ui = Progress(cfg.iters, start=step, enabled=rank == 0 and not cfg.quiet)
    if (n := group.size()) > 1:  # the flags of one process under mlx.launch: what they mean here
        ui.note(f"data-parallel over {n} processes: each takes {cfg.batch_size // n} of a batch's "
                f"{cfg.batch_size} rows; rank 0 alone writes {out}; Ctrl-C: every rank saves "
                f"and stops, --resume {out} goes on")  # fmt: skip
    with ui, StopOnSigint() as stop:
        while step < cfg.iters:
            if cfg.val_every and step % cfg.val_every == 0 and checked != step:
                validate()
            tic = time.perf_counter()
            # dropout: a function of the step, and of the rank (rank 0's: one process's)
            mx.random.seed(cfg.seed * 1_000_003 + step + (rank << 40))
            eps = eps_at(step)
            batches, pos = train_b.take(pos, cfg.grad_accumulation)
            micro = [tuple(vars(b).values()) for b in batches]  # its arrays, in field order
            try:
                loss, ntok = train_step(micro, mx.array(eps, dtype=mx.float32))
                mx.eval(loss, ntok, joint.trainable_parameters(), [o.state for o in opts.values()])
            except RuntimeError as e:
                if "out of memory" not in str(e):
                    raise
                raise UsageError(
                    f"out of memory at step {step + 1}: lower --batch-size and raise "
                    f"--grad-accumulation as much (the same rows a step); {good()}"
                ) from None
            value = loss.item()
            if not math.isfinite(value):
                raise UsageError(f"loss is {value} at step {step + 1}: stopped; {good()}")
            step += 1
            history.append(value)
            dt = time.perf_counter() - tic
            scored = int(ntok.item())  # the targets the loss averages over (all ranks)
            seen = sum(b.n_tokens - b.tokens.shape[0] for b in batches)  # inputs, no padding
            run["tokens"], run["seconds"] = run["tokens"] + scored, run["seconds"] + dt
            ui.advance(value, scored / dt, eps)
            out_of_time = cfg.max_seconds > 0 and time.perf_counter() - began >= cfg.max_seconds
            # the ranks' inputs; a clock past max_seconds or a Ctrl-C on any rank stops them all
            seen, out_of_time, halt = summed([seen, out_of_time, stop.requested], group)
            run["tokens_seen"] += int(seen)
            if step % cfg.save_every == 0 or step == cfg.iters or out_of_time:
                save(step)
                saved_at, last_good = step, (out, step)
            if out_of_time:
                ui.note(f"stopped at step {step}: max_seconds {cfg.max_seconds:g} reached; "
                        f"continue with: mlx_ifp finetune --resume {out}")  # fmt: skip
                break
            if halt and step < cfg.iters:  # Ctrl-C: finish the step, save, say how on
                if saved_at != step:
                    save(step)
                raise Interrupted(
                    f"interrupted at step {step} of {cfg.iters}: saved a checkpoint to {out}; "
                    f"continue with: mlx_ifp finetune --resume {out}"
                )
    if cfg.val_every and checked != step == cfg.iters:  # a --max-seconds stop: on schedule only
        validate()
        saved_at = None
    if saved_at != step:
        save(step)
    ui.note(f"{run['tokens']:,} tokens in {run['seconds']:.0f} s on {run['device']}")
    ui.summary(history, [[r[0], r[column]] for r in val_history], out, name)
    if test_b is not None:  # mlx_lm lora's --test: the run's hard masks at its keep
        said = evaluate(joint, test_b, cfg.test_batches, k, cfg, group)
        said = {"step": step, "ce": said["ce"], "ppl": math.exp(min(said["ce"], 700))} | (
            {"kl": said["kl"]} if cfg.distill else {}  # (0 without a teacher: not a reading)
        )
        checkpoint.on_rank0(partial(checkpoint.save_test, out, said), group)  # quiet or not
        kl = f", KL to source {said['kl']:.4f}" if cfg.distill else ""
        ui.note(f"test CE {said['ce']:.4f}, ppl {said['ppl']:.3f}{kl}")
    return out


class Progress(CommandProgress):
    """Optimizer steps of a run (silent when ``enabled`` is False: other ranks, ``quiet``)."""

    def __init__(self, total: int, start: int = 0, enabled: bool = True, bar: bool | None = None):
        super().__init__("finetune", total, start, unit="step", enabled=enabled, bar=bar)

    def advance(self, loss: float, tokens_per_s: float, eps: float) -> None:
        peak = mx.get_peak_memory() / 1e9
        stats = (f"loss {loss:.4f}", f"{tokens_per_s:,.0f} tok/s", f"peak {peak:.2f} GB")
        super().advance(1, (*stats, f"eps {eps:.3g}"))

    def summary(self, history: list, val: list, out, name: str = "CE") -> None:
        if not self.enabled or not history:
            return
        tail = history[-min(10, len(history)) :]
        mean = sum(tail) / len(tail)
        self.note(f"steps {len(history)}, train loss {mean:.4f} (last {len(tail)})")
        self.note(f"peak memory {mx.get_peak_memory() / 1e9:.2f} GB")
        if val:
            self.note(f"validation {name} {val[0][1]:.4f} (step {val[0][0]}) -> {val[-1][1]:.4f}")
        self.note(f"checkpoint {out}")
