"""Independent references for tests: GRIFFIN's channel scores written out in plain numpy."""

from mlx_ifp.core import ffn

import mlx.core as mx
import mlx.nn as nn
import numpy as np


class _Recorder(nn.Module):
    """Stands in for a down projection: keeps its input (the FFN activation), then applies it."""

    def __init__(self, down, seen: list):
        super().__init__()
        self.down, self.seen = down, seen

    def __call__(self, x):
        self.seen.append(x)
        return self.down(x)


def ffn_activations(model, tokens) -> list[np.ndarray]:
    """Per layer, the (T, d_ffn) input of the down projection in one plain dense forward."""
    spec = ffn.spec_of(model)
    mlps = ffn.ffns(model)
    seen: list = []
    downs = [getattr(m, spec.down) for m in mlps]
    for m, d in zip(mlps, downs, strict=True):
        setattr(m, spec.down, _Recorder(d, seen))
    try:
        with ffn.masked(model, None):
            mx.eval(model(mx.array([list(tokens)])))
    finally:
        for m, d in zip(mlps, downs, strict=True):
            setattr(m, spec.down, d)
    return [np.array(a[0].astype(mx.float32), dtype=np.float64) for a in seen]


def griffin_scores(model, tokens) -> np.ndarray:
    """GRIFFIN (Dong et al. 2024): each token's activation scaled to unit L2 norm, then each
    channel's L2 norm over the tokens. (L, d_ffn), float64."""
    out = []
    for h in ffn_activations(model, tokens):
        z = h / np.linalg.norm(h, axis=1, keepdims=True)
        out.append(np.sqrt((z**2).sum(axis=0)))
    return np.stack(out)


def assert_top_k(indices, scores: np.ndarray, k: int, rtol: float = 1e-5) -> None:
    """``indices`` (L, k) keep, per layer, every channel scoring clearly above the k-th best and
    none clearly below it (within ``rtol`` of it, float32 vs float64 may order either way)."""
    indices = np.array(indices)
    assert indices.shape == (scores.shape[0], k)
    for layer, (kept, s) in enumerate(zip(indices, scores, strict=True)):
        kth = np.sort(s)[::-1][k - 1]
        must = set(np.flatnonzero(s > kth * (1 + rtol)).tolist())
        may = set(np.flatnonzero(s >= kth * (1 - rtol)).tolist())
        kept = set(kept.tolist())
        assert must <= kept <= may, f"layer {layer}: not GRIFFIN's top {k}"
