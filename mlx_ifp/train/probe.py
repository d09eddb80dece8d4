"""Mask diversity on a fixed probe set of held-out prompts: does the mask depend on the prompt?

Logged during training. Collapse (every prompt getting nearly one mask) shows up as a mean
cross-domain Jaccard near 1 and a small spread of scores across prompts.
"""

from __future__ import annotations

import json
import random
from itertools import combinations
from pathlib import Path

import mlx.core as mx

from ..core import topk_indicator, turn_tokens

COLLAPSED = 0.9  # mean cross-domain Jaccard above this: warn


def probe_set(data: str | Path, tokenizer, per_domain: int, seed: int = 0, max_len: int = 256):
    """Up to ``per_domain`` prompts of each domain from ``valid.jsonl``: [(domain, tokens)]."""
    path = Path(data) / "valid.jsonl"
    if not path.is_file() or per_domain < 1:
        return []
    by_domain: dict[str, list] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line) if line.strip() else {}
        text = rec.get("prompt") or rec.get("text")
        if text and rec.get("domain"):
            by_domain.setdefault(rec["domain"], []).append((text, "prompt" in rec))
    rng = random.Random(seed)
    out = []
    for domain in sorted(by_domain):
        texts = by_domain[domain]
        rng.shuffle(texts)
        for text, is_prompt in texts[:per_domain]:
            toks = turn_tokens(tokenizer, text) if is_prompt else tokenizer.encode(text)
            out.append((domain, list(toks)[:max_len]))
    return out


def jaccard(a: mx.array, b: mx.array) -> float:
    """Mean over layers of |a & b| / |a | b| for 0/1 masks (L, d)."""
    inter = (a * b).sum(-1)
    union = a.sum(-1) + b.sum(-1) - inter
    return (inter / mx.maximum(union, 1)).mean().item()


def diversity(masks: list[mx.array], scores: list[mx.array], domains: list[str]) -> dict:
    """Jaccard of hard masks within and across domains, and the spread of scores."""
    within, across = [], []
    for i, j in combinations(range(len(masks)), 2):
        (within if domains[i] == domains[j] else across).append(jaccard(masks[i], masks[j]))
    s = mx.stack(scores)  # (P, L, d)
    spread = s.std(axis=0).mean(-1)  # per layer: std across prompts, mean over channels
    scale = s.std(axis=-1).mean(0)  # per layer: std across channels
    # the same for each channel's rank (0 = last, 1 = first) among its layer's channels: blind
    # to the scale of the scores (a shared part lifted far above the rest swamps score_std)
    ranks = mx.argsort(mx.argsort(s, axis=-1), axis=-1).astype(mx.float32)
    ranks = ranks / max(s.shape[-1] - 1, 1)
    return {
        "jaccard_within": sum(within) / max(len(within), 1),
        "jaccard_across": sum(across) / max(len(across), 1),
        "score_std": (spread / mx.maximum(scale, 1e-9)).mean().item(),
        "rank_std": ranks.std(axis=0).mean().item(),
    }


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
