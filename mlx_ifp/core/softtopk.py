"""SoftTopK: scores -> a soft mask with exactly k mass per row, plus hard top-k helpers.

`l_i = min(1, exp((s_i + a) / eps))` with one scalar `a` per row so that `sum(l) = k`
(METHOD.md, "From scores to a mask"). The solver is exact and sort-based; the gradient is the
implicit one, so nothing is back-propagated through the solver.
"""

from __future__ import annotations

import math
from collections.abc import Callable

import mlx.core as mx

from ..common import UsageError

__all__ = [
    "soft_topk",
    "topk_indicator",
    "training_mask",
    "hard_topk_indices",
    "eps_schedule",
]

_CLIP_TOL = 1e-6  # l >= 1 - _CLIP_TOL counts as clipped in the backward pass


def _check(n: int, k: int, eps: float | None = None) -> None:
    if not 1 <= k <= n:
        raise UsageError(f"k must be in [1, {n}], got {k}")
    if eps is not None and not eps > 0:
        raise UsageError(f"eps must be > 0, got {eps}")


def _solve(s: mx.array, k: int, eps: float) -> mx.array:
    """Forward solve in float32 for rows along the last axis (exact, sort-based)."""
    n = s.shape[-1]
    if k == n:
        return mx.ones_like(s)
    # Only the top k can be clipped (at most k-1 of them), so sort just those. Everything is
    # measured from the k-th largest score `ref`: the boundary then lies in u in [-log n, 0]
    # and the numbers that matter stay small, whatever the range of the scores or eps.
    part = mx.partition(s, n - k, axis=-1)
    ref = part[..., n - k : n - k + 1]
    top = mx.sort(part[..., n - k :], axis=-1)  # ascending, top[..., 0] == ref
    base = mx.logsumexp((part[..., : n - k] - ref) / eps, axis=-1, keepdims=True)
    # cum[p] = log sum of exp(u) over everything up to ascending top-index p: the tail left
    # unclipped when the k-1-p largest are clipped; then a_p = log(p + 1) - cum[p].
    cum = mx.logaddexp(base, mx.logcumsumexp((top - ref) / eps, axis=-1))
    log_rem = mx.log(mx.arange(1, k + 1, dtype=mx.float32))
    # Every candidate a_j satisfies f(a_j) <= k, so the true a is the largest candidate.
    a = mx.max(log_rem - cum, axis=-1, keepdims=True)
    return mx.exp(mx.minimum((s - ref) / eps + a, 0.0))


def _soft_topk_fn(k: int) -> Callable[[mx.array, mx.array], mx.array]:
    @mx.custom_function
    def f(s: mx.array, eps: mx.array) -> mx.array:
        return _solve(s, k, eps)

    @f.vjp
    def f_vjp(primals, cotangent, output):
        eps = primals[1]
        l_ = output
        g = cotangent
        free = (l_ < 1.0 - _CLIP_TOL).astype(l_.dtype)
        lu = l_ * free
        mean_g = mx.sum(g * lu, axis=-1, keepdims=True) / mx.maximum(
            mx.sum(lu, axis=-1, keepdims=True), 1e-30
        )
        return (lu / eps) * (g - mean_g), mx.zeros_like(eps)

    return f


def soft_topk(scores: mx.array, k: int, eps: float | mx.array) -> mx.array:
    """SoftTopK over the last axis: `min(1, exp((s + a)/eps))` with rows summing to k.

    Computed in float32, returned in the dtype of `scores`; differentiable (implicit VJP).
    ``eps`` may be an array (a compiled training step passes it in as one).
    """
    _check(scores.shape[-1], k, None if isinstance(eps, mx.array) else eps)
    eps = mx.array(eps, dtype=mx.float32) if not isinstance(eps, mx.array) else eps
    out = _soft_topk_fn(int(k))(scores.astype(mx.float32), eps.astype(mx.float32))
    return out.astype(scores.dtype)


def topk_indicator(x: mx.array, k: int) -> mx.array:
    """0/1 mask (dtype of x) of the k largest per row; ties go to the lowest index."""
    n = x.shape[-1]
    _check(n, k)
    kth = mx.partition(x, n - k, axis=-1)[..., n - k : n - k + 1]
    gt = x > kth
    eq = x == kth
    room = k - mx.sum(gt, axis=-1, keepdims=True)
    take = gt | (eq & (mx.cumsum(eq.astype(mx.int32), axis=-1) <= room))
    return take.astype(x.dtype)


def training_mask(scores: mx.array, k: int, eps: float) -> mx.array:
    """The paper's training mask `l * TopK(l, k)`: k soft non-zeros, gradient through l."""
    soft = soft_topk(scores, k, eps)
    return soft * mx.stop_gradient(topk_indicator(soft, k))


def hard_topk_indices(scores: mx.array, k: int) -> mx.array:
    """Indices (..., k) int32, ascending, of the k largest scores (ties as topk_indicator)."""
    n = scores.shape[-1]
    keep = topk_indicator(scores, k) > 0
    idx = mx.where(keep, mx.arange(n, dtype=mx.int32), n)
    return mx.sort(idx, axis=-1)[..., :k]


def eps_schedule(start: float, end: float, steps: int, kind: str = "exp") -> Callable[[int], float]:
    """eps annealing: step -> eps, from `start` at 0 to `end` at `steps`, then held."""
    if kind not in ("exp", "linear", "constant"):
        raise UsageError(f"unknown eps schedule {kind!r} (exp, linear or constant)")
    if not (start > 0 and end > 0):
        raise UsageError(f"eps must be > 0, got start={start}, end={end}")

    def at(step: int) -> float:
        if kind == "constant":
            return float(start)
        t = min(max(step, 0), steps) / steps if steps > 0 else 1.0
        if kind == "linear":
            return float(start + (end - start) * t)
        return float(math.exp(math.log(start) + (math.log(end) - math.log(start)) * t))

    return at
