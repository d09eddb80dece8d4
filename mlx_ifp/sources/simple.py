"""Reference sources: random (the lower bound), full (no pruning) and a fixed saved mask."""

from __future__ import annotations

import mlx.core as mx

from ..core import Mask, UsageError, d_ffn, layers
from .base import MaskSource
from .registry import register_source


class RandomSource(MaskSource):
    """A random mask (fixed by seed, the same for every input): the lower bound."""

    name = "random"
    uses_text = False

    def __init__(self, seed: int = 0):
        self.seed = seed

    def key(self):
        return f"random(seed={self.seed})"

    def scores(self, model, tokens):
        shape = (len(layers(model)), d_ffn(model))
        return mx.random.uniform(shape=shape, key=mx.random.key(self.seed))


class Full(MaskSource):
    """No pruning: every channel kept."""

    name = "full"
    uses_text = False

    def scores(self, model, tokens):
        return mx.ones((len(layers(model)), d_ffn(model)))

    def select(self, model, tokens, k):
        mask = Mask.full(model)
        mask.source = self.key()
        return mask


class FixedMask(MaskSource):
    """A saved mask (for example a learned static one) as a source: the same for every input."""

    uses_text = False

    def __init__(self, name: str, mask: Mask):
        self.name, self.mask = name, mask

    def scores(self, model, tokens):
        """The saved mask as 0/1 scores (``select`` returns the mask itself)."""
        return self.mask.dense()

    def select(self, model, tokens, k):
        self.mask.check(model)
        if self.mask.k != k and k < self.mask.d_ffn:
            raise UsageError(f"mask {self.name!r} keeps {self.mask.k} channels, not {k}")
        return self.mask


register_source("random", lambda seed=0, **kw: RandomSource(seed))
register_source("full", lambda **kw: Full())
