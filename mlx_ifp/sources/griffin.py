"""GRIFFIN (training-free): per prompt, each channel's L2 norm over tokens of the unit-normalised
FFN activations, read off a dense pass (or the prompt's own prefill)."""

from __future__ import annotations

import mlx.core as mx

from ..common import UsageError
from .base import MaskSource, Observer, Running, dense_prefill
from .registry import register_source


class GriffinStats(Observer):
    """Per channel, the L2 norm over tokens of the unit-normalised activations (GRIFFIN)."""

    def __init__(self):
        self.sq: dict[int, mx.array] = {}

    def __call__(self, i, h):
        hh = mx.square(h.astype(mx.float32)).reshape(-1, h.shape[-1])  # (B*T, d)
        norms = hh @ mx.ones((hh.shape[-1],), dtype=hh.dtype)  # ||h_t||^2; a gemv beats sum()
        inv = 1.0 / mx.maximum(norms, 1e-12)
        s = inv @ hh  # sum over tokens of (h_t / ||h_t||)^2, per channel
        self.sq[i] = self.sq[i] + s if i in self.sq else s

    def state(self, i):
        return [self.sq[i]]

    def scores(self):
        if not self.sq:
            raise UsageError("cannot select channels for an empty text")
        return mx.sqrt(mx.stack([self.sq[i] for i in range(len(self.sq))]))


class GroupedGriffin(Observer):
    """GRIFFIN statistics of many texts in one batched pass: one per (row, group).

    ``groups`` (B, G, T) weights which positions of each row belong to which text (0/1: the
    prompt part of a training sequence, or each stage-1 chunk). ``scores()`` is (B, G, L, d),
    equal to ``GriffinStats`` run on each text alone. Pure array code: fine under
    ``mx.compile`` and gradients (the caller stops them).
    """

    def __init__(self, groups: mx.array):
        self.groups = groups.astype(mx.float32)
        self.sq: dict[int, mx.array] = {}

    def __call__(self, i, h):
        hh = mx.square(h.astype(mx.float32))  # (B, T, d)
        norms = hh @ mx.ones((hh.shape[-1],), dtype=hh.dtype)  # (B, T)
        w = self.groups / mx.maximum(norms, 1e-12)[:, None, :]  # (B, G, T)
        s = w @ hh  # (B, G, d)
        self.sq[i] = self.sq[i] + s if i in self.sq else s

    def state(self, i):
        return [self.sq[i]]

    def scores(self):
        return mx.sqrt(mx.stack([self.sq[i] for i in range(len(self.sq))], axis=2))


def standardise(scores: mx.array) -> mx.array:
    """Per layer (last axis), log-scores shifted and scaled to mean 0 and unit variance."""
    z = mx.log(scores.astype(mx.float32) + 1e-6)
    z = z - z.mean(-1, keepdims=True)
    return z / mx.maximum(mx.sqrt((z * z).mean(-1, keepdims=True)), 1e-6)


class Griffin(MaskSource):
    """GRIFFIN (training-free): per prompt, channel L2 norm of the unit-normalised activations."""

    name = "griffin"

    def observer(self):
        return GriffinStats()

    def running(self, model):
        return Running(model, GriffinStats(), GriffinStats.scores)

    def scores(self, model, tokens):
        if tokens.size == 0:
            raise UsageError("cannot select channels for an empty text")
        stats = GriffinStats()
        dense_prefill(model, tokens, stats)
        return stats.scores()


register_source("griffin", lambda **kw: Griffin())
