"""The training objective: predictor scores -> masks -> masked forward -> CE (+ KL) -> gradients.

Stage 1 (``pretrain``): the mask predicted from chunk j is applied while predicting chunk j+1,
in one forward pass with position-dependent masks. Stage 2 (``sft``): the mask comes from the
first user turn, the loss is on the response tokens.
"""

from __future__ import annotations

import mlx.core as mx
import mlx.nn as nn
from mlx.utils import tree_map

from ..core import ffn
from ..core.softtopk import soft_topk, topk_indicator, training_mask
from ..sources.predictor import Predictor
from .batches import Batch, Batches
from .llm import Joint


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
