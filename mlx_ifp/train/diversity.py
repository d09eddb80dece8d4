"""The diversity of masks over a fixed probe set of held-out prompts (does the mask depend on
the prompt?): Jaccard within and across domains and the spread of scores, on plain arrays.

Collapse (every prompt getting nearly one mask) shows up as a mean cross-domain Jaccard near 1
and a small spread of scores across prompts; ``objective.probe_set`` picks the prompts and
``objective.measure`` runs the predictor on them.
"""

from __future__ import annotations

import mlx.core as mx


def diversity(masks: list[mx.array], scores: list[mx.array], domains: list[str]) -> dict:
    """Jaccard of hard masks (mean over layers of |a & b| / |a | b|) within and across domains,
    and the spread of scores."""
    m = mx.stack(masks).astype(mx.float32)  # (P, L, d); every pair at once, a layer at a time
    size = m.sum(-1)  # (P, L)
    jac = mx.zeros((m.shape[0], m.shape[0]))
    for layer in range(m.shape[1]):
        inter = m[:, layer] @ m[:, layer].T
        union = size[:, layer, None] + size[None, :, layer] - inter
        jac = jac + inter / mx.maximum(union, 1)
    ids = {d: i for i, d in enumerate(dict.fromkeys(domains))}
    dom = mx.array([ids[d] for d in domains])
    pair = mx.triu(mx.ones_like(jac), k=1)  # each unordered pair once
    same = pair * (dom[:, None] == dom[None, :])
    mean = lambda w: ((jac * w).sum() / m.shape[1] / mx.maximum(w.sum(), 1)).item()  # noqa: E731
    s = mx.stack(scores)  # (P, L, d)
    spread = s.std(axis=0).mean(-1)  # per layer: std across prompts, mean over channels
    scale = s.std(axis=-1).mean(0)  # per layer: std across channels
    # the same for each channel's rank (0 = last, 1 = first) among its layer's channels: blind
    # to the scale of the scores (a shared part lifted far above the rest swamps score_std)
    ranks = mx.argsort(mx.argsort(s, axis=-1), axis=-1).astype(mx.float32)
    ranks = ranks / max(s.shape[-1] - 1, 1)
    return {
        "jaccard_within": mean(same),
        "jaccard_across": mean(pair - same),
        "score_std": (spread / mx.maximum(scale, 1e-9)).mean().item(),
        "rank_std": ranks.std(axis=0).mean().item(),
    }
