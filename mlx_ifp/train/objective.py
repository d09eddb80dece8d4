"""The trained pair, the training objective, and the prompts of the probe that watches the masks.

The trained pair (``Joint``: predictor + LLM) and how the LLM trains: frozen, LoRA or full.

The objective: predictor scores -> masks -> masked forward -> CE (+ KL) -> gradients.
Stage 1 (``pretrain``): the mask predicted from chunk j is applied while predicting chunk j+1,
in one forward pass with position-dependent masks. Stage 2 (``sft``): the mask comes from the
first user turn, the loss is on the response tokens; with ``repick: N`` it is re-picked every N
response tokens from the text so far, as ``generate`` re-picks (``inference/repick.py``); with
``task_share`` some rows run a per-task mask instead: the mean of the scores of the batch's
other rows of their domain, as a task's mask is the mean of its example prompts' scores.
With ``end_weight`` the KL weighs more where the source is sure the reply ends.

The probe: held-out prompts of every domain (``probe_set``), whose masks ``measure`` compares
(``diversity.py``); ``diverging``, a validation reading gone wrong.
"""

from __future__ import annotations

import contextlib
import copy
import math
import random
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn
from mlx.utils import tree_flatten, tree_map

from ..core import (
    UsageError,
    active_masks,
    first_user_turn,
    install,
    layers,
    masked,
    masks_set,
    soft_topk,
    topk_indicator,
    training_mask,
    turn_tokens,
    vocab_size,
)
from ..sources.predictor import Predictor, source_pass
from .batches import Batch, Batches, read_jsonl
from .config import FinetuneConfig, adapter_config, check_lora_layers, repicking_rows, task_rows
from .diversity import diversity


class Joint(nn.Module):
    """The trained pair: one tree of parameters for one ``value_and_grad``."""

    def __init__(self, predictor: Predictor, llm: nn.Module, teacher=None, ends=(), end_weight=1):
        super().__init__()
        self.predictor = predictor
        self.llm = llm
        # the frozen source for distillation and GRIFFIN features when the LLM's own weights
        # train (LoRA and frozen runs switch their adapters off instead); not a child
        object.__setattr__(self, "teacher", teacher)
        # end_weight's end-of-turn ids, those the LLM has logits for (a gather past them reads 0)
        ids = sorted({int(i) for i in ends or () if 0 <= int(i) < (vocab_size(llm) or math.inf)})
        if end_weight != 1 and not ids:  # refused before the data is read, not at step 1
            raise UsageError(
                f"end_weight {end_weight:g}: the tokenizer names no end-of-turn token the model has"
                f" (eos_token_ids {sorted(ends or ())}; its vocabulary: {vocab_size(llm)} tokens)"
            )
        object.__setattr__(self, "ends", mx.array(ids, dtype=mx.int32))


def frozen_copy(model: nn.Module) -> nn.Module:
    """A frozen copy of ``model`` (its own arrays, unaffected by later updates)."""
    return copy.deepcopy(model).freeze()  # (freeze returns the module)


def prepare_llm(model: nn.Module, cfg: FinetuneConfig) -> nn.Module:
    """Freeze the LLM, give it mlx-lm LoRA layers, or leave it all trainable."""
    from mlx_lm.tuner.utils import linear_to_lora_layers

    install(model)
    model.freeze()
    if cfg.train == "lora":
        named = {n for m in (model, *model.layers) for n, _ in m.named_modules()}  # as mlx-lm
        if bad := [key for key in cfg.lora_keys or [] if key not in named]:  # one typo: silently
            raise UsageError(f"lora_keys: {', '.join(bad)} names no module of the LoRA layers")
        check_lora_layers(cfg, len(model.layers))  # mlx_lm lora's "only has N layers"
        try:  # a module that is not a linear layer (`mlp`): mlx-lm's ValueError
            linear_to_lora_layers(model, cfg.lora_layers, adapter_config(cfg)["lora_parameters"])
        except ValueError as e:
            raise UsageError(f"lora_keys {cfg.lora_keys}: {e}") from None
        if not tree_flatten(model.trainable_parameters()):  # a LoRA run that trains nothing
            raise UsageError(f"lora_keys {cfg.lora_keys} name no module of the LoRA layers")
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
            masks = active_masks()

            def inner(params, x, *m):
                self.update(params)
                with masks_set(list(m) if m else None):
                    return call(self, x, *args, **kwargs)

            return mx.checkpoint(inner)(self.trainable_parameters(), x, *(masks or []))

        return checkpointed

    for layer in layers(model):
        cls = type(layer)
        if cls in _CKPT.values():
            continue
        if cls not in _CKPT:
            _CKPT[cls] = type(cls.__name__, (cls,), {"__call__": wrap(cls.__call__)})
        layer.__class__ = _CKPT[cls]


def make_masks(scores: mx.array, k: int, eps: float, how: str, hard: bool) -> mx.array:
    """Scores -> the masks of the masked forward.

    ``hard`` (evaluation): the 0/1 top-k of the scores, as at inference. Training: ``soft`` is
    the paper's ``l * TopK(l)``; ``hard_st`` runs the same 0/1 top-k mask as inference in the
    forward pass, exactly 0/1 on every device, and takes the SoftTopK gradient in the backward
    pass (straight through: ``TopK(s) + (l - stop_gradient(l))``): dropped channels get one too.
    """
    if hard:
        return topk_indicator(scores, k)
    if how == "hard_st":
        soft = soft_topk(scores, k, eps)
        return mx.stop_gradient(topk_indicator(scores, k)) + (soft - mx.stop_gradient(soft))
    return training_mask(scores, k, eps)


def chunk_groups(batch: Batch, K: int, c: int) -> mx.array:
    """Stage 1: (B, K-1, T) 0/1 membership of each input position in chunks 0..K-2 (chunks of
    ``c`` = max_seq_length // K tokens, from the configuration, whatever the batch)."""
    T = batch.tokens.shape[1] - 1
    if T < K * c:
        raise ValueError(f"inputs of {T} tokens are shorter than {K} chunks of {c}")
    pos = mx.arange(T)
    member = (pos[None, :] // c) == mx.arange(K - 1)[:, None]  # (K-1, T)
    valid = pos[None, :] < batch.lengths[:, None]  # (B, T)
    return member[None] & valid[:, None, :]


def chunk_masks(m: mx.array, T: int, c: int, K: int) -> mx.array:
    """(B, K-1, L, d) per-chunk masks -> (B, L, T, d): chunk j's mask on the targets of j+1."""
    m = mx.concatenate([mx.ones_like(m[:, :1]), m], axis=1)  # chunk 0 runs dense
    chunk_of = (mx.arange(T) + 1) // c  # the chunk of each input position's target
    return mx.take(m, mx.minimum(chunk_of, K - 1), axis=1).transpose(0, 2, 1, 3)


def repick_groups(batch: Batch, n: int, T: int, rows: mx.array | None = None):
    """Stage 2 with re-picking: (B, J, T) groups, group j the text before response token j * n
    (group 0 the prompt), and (B, T) the group whose mask each input position runs: the one
    fed at position p reads the prompt and response up to its segment, as generation does.
    With ``rows`` (B,) bool, only those rows re-pick; the others run the prompt's mask."""
    J = T // n + 1
    pos = mx.arange(T)
    ends = batch.offsets[:, None] + n * mx.arange(J)[None]  # (B, J)
    groups = pos[None, None] < ends[..., None]  # padding reads only into unscored positions' masks
    segment = mx.clip((pos[None] - batch.offsets[:, None] + 1) // n, 0, J - 1)
    if rows is not None:
        segment = mx.where(rows[:, None], segment, 0)
    return groups, segment


def gathered(x: mx.array, group) -> mx.array:
    """Every rank's ``x``, concatenated in rank order, whose gradient reaches each rank's part
    from every rank's loss (MLX's own ``all_gather`` passes a rank its own loss's alone)."""
    rank, n = group.rank(), x.shape[0]

    @mx.custom_function
    def gather(x):
        return mx.distributed.all_gather(x, group=group)

    @gather.vjp
    def gather_vjp(primals, cotangent, output):
        return mx.distributed.all_sum(cotangent, group=group)[rank * n : (rank + 1) * n]

    return gather(x)


def task_scores(scores: mx.array, domains: mx.array, rows: mx.array, group=None) -> mx.array:
    """(B * G, L, d) scores with group 0 of each of ``rows`` replaced by the mean of the group-0
    scores of the other rows of its domain (a row with none, or no domain, keeps its own); with
    ``group``, the other rows of the whole batch, whichever rank holds them."""
    B = domains.shape[0]
    s = scores.reshape(B, -1, *scores.shape[1:])
    first = s[:, 0]
    every, their, mine = first, domains, mx.arange(B)  # the batch's rows; these in it
    if group is not None and group.size() > 1:
        every, mine = gathered(first, group), mine + group.rank() * B
        their = mx.distributed.all_gather(domains, group=group)
    same = (domains[:, None] == their[None]) & (domains[:, None] >= 0)
    same = (same & (mine[:, None] != mx.arange(their.shape[0])[None])).astype(first.dtype)
    n = same.sum(axis=1)
    mean = (same @ every.reshape(every.shape[0], -1)).reshape(first.shape)
    first = mx.where((rows & (n > 0))[:, None, None], mean / mx.maximum(n, 1)[:, None, None], first)
    return mx.concatenate([first[:, None], s[:, 1:]], axis=1).reshape(scores.shape)


def forward(joint: Joint, batch: Batch, k: int, eps: float, cfg, hard: bool = False, group=None):
    """Masked logits (B, T, V), per-target loss weights (B, T) and the teacher's logits."""
    inputs = batch.tokens[:, :-1]
    T = inputs.shape[1]
    steps = mx.arange(1, T + 1)[None]  # position of each target token
    weight = (steps < batch.lengths[:, None]) & (steps >= batch.offsets[:, None])
    pred = joint.predictor
    griffin = pred.config.reads_griffin
    pretrain = cfg.stage == "pretrain"
    if pretrain:
        c = cfg.max_seq_length // cfg.chunks
        groups = chunk_groups(batch, cfg.chunks, c)
        weight = weight & (steps >= c)
    elif cfg.repick:
        rows = repicking_rows(inputs.shape[0], cfg, group)
        groups, segment = repick_groups(batch, cfg.repick, T, rows)
    else:  # the prompt part of each sequence (what the predictor reads)
        groups = (mx.arange(T)[None, :] < batch.offsets[:, None])[:, None, :]
    teacher = feats = None
    if griffin or cfg.distill > 0:  # the frozen source: features, teacher logits, or both
        source = joint.teacher if joint.teacher is not None else joint.llm
        teacher, feats = source_pass(source, inputs, groups if griffin else None, cfg.distill > 0)
    if griffin:  # (B, G, L, d) -> one score row per group
        B, G = feats.shape[:2]
        scores = pred.from_griffin(feats.reshape(B * G, *feats.shape[2:]))
    elif pretrain:
        chunks = inputs[:, : (cfg.chunks - 1) * c].reshape(-1, c)
        lens = mx.clip(batch.lengths[:, None] - mx.arange(cfg.chunks - 1)[None] * c, 1, c)
        scores = pred(chunks, lens.reshape(-1))
    else:
        scores = pred(batch.prompt, batch.prompt_lengths)
    if not pretrain and cfg.task_share:
        rows = task_rows(inputs.shape[0], cfg, group)
        scores = task_scores(scores, batch.domains, rows, group)
    masks = make_masks(scores, k, eps, cfg.mask_forward, hard)
    extra = None if hard else pred.mask_gradient(eps)
    if extra is not None:
        masks = masks + extra
    if pretrain:
        masks = chunk_masks(masks.reshape(inputs.shape[0], -1, *masks.shape[1:]), T, c, cfg.chunks)
    elif cfg.repick:  # (B * J, L, d) -> (B, L, T, d): each position its segment's mask
        masks = masks.reshape(inputs.shape[0], -1, *masks.shape[1:])
        masks = mx.take_along_axis(masks, segment[:, :, None, None], axis=1).transpose(0, 2, 1, 3)
    with masked(joint.llm, masks):
        logits = joint.llm(inputs)
    return logits, weight.astype(mx.float32), teacher


def kl_to(teacher: mx.array, logits: mx.array) -> mx.array:
    """KL(teacher || student) per position (B, T), from logits."""
    logp_t = nn.log_softmax(teacher.astype(mx.float32), axis=-1)
    logp_s = nn.log_softmax(logits.astype(mx.float32), axis=-1)
    return (mx.exp(logp_t) * (logp_t - logp_s)).sum(-1)


def end_weights(teacher: mx.array, ends: mx.array, weight: float) -> mx.array:
    """(B, T): ``weight`` where the source puts over half its probability on the turn's end
    tokens ``ends`` (it ends the reply there), else 1."""
    if ends.size == 0:  # a Joint built without them (a run's is refused before its data)
        raise UsageError(f"end_weight {weight:g}: the tokenizer names no end-of-turn token")
    t = mx.stop_gradient(teacher.astype(mx.float32))
    p_end = mx.exp(mx.logsumexp(t[..., ends], axis=-1) - mx.logsumexp(t, axis=-1))
    return mx.where(p_end > 0.5, weight, 1.0)


def loss_sum(joint: Joint, batch: Batch, k: int, eps: float, cfg, hard: bool = False, group=None):
    """(ce * summed CE + distill * summed KL to the source, x ``end_weight`` where it ends the
    turn [+ anchor * the unpruned LLM's summed KL], scored tokens, summed CE, summed KL) over
    the batch (KL is 0 without distillation; the reported KL is the pruned model's, unweighted)."""
    logits, w, teacher = forward(joint, batch, k, eps, cfg, hard, group)
    ce = (nn.losses.cross_entropy(logits, batch.tokens[:, 1:]) * w).sum()
    kls = kl_to(teacher, logits) * w if teacher is not None else mx.zeros_like(w)
    weighted = (
        kls if cfg.end_weight == 1 else kls * end_weights(teacher, joint.ends, cfg.end_weight)
    )
    loss, kl = cfg.ce * ce + cfg.distill * weighted.sum(), kls.sum()
    if cfg.anchor:  # the trained LLM, nothing pruned, held near the source (its drift limited)
        loss = loss + cfg.anchor * (kl_to(teacher, joint.llm(batch.tokens[:, :-1])) * w).sum()
    return loss, w.sum(), ce, kl


def micro_gradients(joint: Joint, batch: Batch, k: int, eps, cfg, group=None):
    """One micro-batch's gradients of its summed loss, the summed loss and its token count."""
    vg = nn.value_and_grad(joint, lambda j, b: loss_sum(j, b, k, eps, cfg, group=group)[:2])
    (loss, ntok), grads = vg(joint, batch)
    return grads, loss, ntok


def gradients(joint: Joint, batches: list, k: int, eps, cfg, group=None, micro=None):
    """Token-mean gradients over micro-batches and ranks, the mean loss and the token count.

    Each micro-batch is evaluated into the running sums before the next one is built, so only
    one micro-batch's activations are alive at a time. ``micro(batch)`` replaces
    :func:`micro_gradients` (the trainer passes its compiled one).
    """
    micro = micro or (lambda b: micro_gradients(joint, b, k, eps, cfg, group))
    acc, loss, ntok = None, mx.array(0.0), mx.array(0.0)
    for b in batches:
        g, lv, nt = micro(b)
        acc = g if acc is None else tree_map(mx.add, acc, g)
        loss, ntok = loss + lv, ntok + nt
        mx.eval(acc, loss, ntok)
    if group is not None and group.size() > 1:
        acc = tree_map(lambda a: mx.distributed.all_sum(a, group=group), acc)
        loss = mx.distributed.all_sum(loss, group=group)
        ntok = mx.distributed.all_sum(ntok, group=group)
    n = mx.maximum(ntok, 1.0)
    return tree_map(lambda a: a / n, acc), loss / n, ntok


def summed(values: list, group) -> list:
    """Integer ``values`` summed over the ranks, exactly (a flag: nonzero where any rank set it)."""
    if group.size() > 1:  # int32: a float32 sum of counts is inexact past 2**24
        values = mx.distributed.all_sum(mx.array(values, mx.int32), group=group).tolist()
    return values


def evaluate(joint: Joint, data: Batches, n_batches: int, k: int, cfg, group=None) -> dict:
    """Mean CE and KL to the source per scored token with hard top-k masks (as at inference)."""
    tot = mx.zeros((3,))
    modes = [(m, m.training) for _, m in joint.llm.named_modules()]  # parents first
    joint.llm.eval()  # no LoRA dropout: a reading of the weights, not of the random state
    for b in range(data.per_epoch if n_batches < 0 else min(n_batches, data.per_epoch)):  # -1: all
        _, nt, ce, kl = loss_sum(joint, data(b), k, 1.0, cfg, hard=True, group=group)
        tot = tot + mx.stack([ce, kl, nt])
        mx.eval(tot)
    for m, was in modes:  # as they were (training runs the LoRA layers with dropout)
        m.train(was)
    if group is not None and group.size() > 1:
        tot = mx.distributed.all_sum(tot, group=group)
    ce, kl, n = tot.tolist()
    return {"ce": ce / max(n, 1.0), "kl": kl / max(n, 1.0)}


COLLAPSED = 0.9  # mean cross-domain Jaccard above this: warn
DIVERGING = 1.5  # a validation reading above this times the best before it: warn
DIVERGING_NATS = 0.1  # ... and at least this much above it (a KL near 0 may double harmlessly)


def diverging(val_history: list, column: int) -> tuple[int, float] | None:
    """(step, value) of the best earlier reading in ``column`` of ``val_history`` ([step, CE,
    KL] rows) when the latest is over ``DIVERGING`` times it and ``DIVERGING_NATS`` above it, or
    is not a number; readings that are not numbers are never the best."""
    earlier = [(row[0], row[column]) for row in val_history[:-1] if math.isfinite(row[column])]
    if not earlier:
        return None
    step, best = min(earlier, key=lambda r: r[1])
    latest = val_history[-1][column]
    if not math.isfinite(latest):  # NaN or inf: gone wrong, whatever the best was
        return step, best
    return (step, best) if latest > max(DIVERGING * best, best + DIVERGING_NATS) else None


def probe_set(data: str | Path, tokenizer, per_domain: int, seed=0, max_len=256, keys=None):
    """Up to ``per_domain`` prompts of each domain from ``valid.jsonl`` (fields: ``keys``)."""
    if per_domain < 1 or not (path := Path(data) / "valid.jsonl").is_file():
        return []
    by_domain: dict[str, list] = {}
    P, M, T = ((keys or {}).get(n, n) for n in ("prompt", "messages", "text"))
    for rec in read_jsonl(path):  # its lines as the trainer reads them (U+2028 is text)
        text = rec.get(P) or rec.get(T)
        if M in rec and P not in rec:  # chat: the first user turn, as trained
            with contextlib.suppress(UsageError, AttributeError, TypeError):  # none: skipped
                text = first_user_turn(rec[M])
        if text and str(text).strip() and rec.get("domain"):  # a prompt 5 is read as "5"
            is_prompt = P in rec or M in rec
            by_domain.setdefault(rec["domain"], []).append((str(text), is_prompt))
    rng = random.Random(seed)
    out = []
    for domain in sorted(by_domain):
        texts = by_domain[domain]
        rng.shuffle(texts)
        for text, is_prompt in texts[:per_domain]:
            toks = turn_tokens(tokenizer, text) if is_prompt else tokenizer.encode(text)
            out.append((domain, list(toks)[:max_len]))
    return out


def measure(predictor, probe: list, k: int) -> dict:
    """Diversity of the predictor's hard masks over the probe prompts."""
    if len(probe) < 2:
        return {}
    scores = []
    for _, toks in probe:
        scores.append(predictor(mx.array([toks], dtype=mx.int32))[0].astype(mx.float32))
        mx.eval(scores[-1])
    masks = [topk_indicator(s, k) for s in scores]
    return diversity(masks, scores, [d for d, _ in probe])
