"""Sources with one mask for every input: random (the lower bound), full (no pruning), a fixed
saved mask, weight magnitude (``static``) and calibration activations (``static-act``)."""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import mlx.core as mx

from ..core import Mask, UsageError, channel_norms, content_hash, d_ffn, layers
from .base import MaskSource, dense_prefill, register_source


class RandomSource(MaskSource):
    """A random mask (fixed by seed, the same for every input): the lower bound."""

    name = "random"
    uses_text = False

    def __init__(self, seed: int = 0):
        whole = isinstance(seed, numbers.Integral) and not isinstance(seed, bool)  # NumPy's too
        if not whole or not 0 <= seed < 1 << 64:
            raise UsageError(f"the random mask source's seed must be in [0, 2**64), got {seed!r}")
        self.seed = int(seed)

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


#: A few lines of general text per domain, used when no calibration text is given.
DEFAULT_CALIBRATION = [
    "The French Revolution began in 1789 and reshaped the politics of Europe for a century.",
    "def fibonacci(n):\n    a, b = 0, 1\n    for _ in range(n):\n        a, b = b, a + b\n"
    "    return a",
    "If a train travels 60 miles in 1.5 hours, its average speed is 60 / 1.5 = 40 miles per hour.",
    "Photosynthesis converts light energy, water and carbon dioxide into glucose and oxygen.",
    "Dear team, thank you for your hard work this quarter. Let's meet on Friday to plan ahead.",
    "To install the package, run pip install and then import it from your Python program.",
]


#: the models whose scores one static source keeps, the latest used (an app loading model after
#: model with one source: not every one it saw)
KEPT_MODELS = 4


def kept(cache: dict, key: str, scores: mx.array) -> mx.array:
    """``scores`` kept in ``cache`` under ``key`` as the latest used; the oldest beyond
    ``KEPT_MODELS`` let go."""
    cache.pop(key, None)
    cache[key] = scores
    for old in list(cache)[:-KEPT_MODELS]:  # (a list: another thread's scores may come in)
        cache.pop(old, None)
    return scores


class StaticWeight(MaskSource):
    """Static: one mask for every input, from weight magnitude (gate, up and down norms)."""

    name = "static"
    uses_text = False

    def __init__(self):
        self._cache: dict[str, mx.array] = {}

    def scores(self, model, tokens):
        fp = content_hash(model)  # not the fingerprint: adapters keep that, not the weights
        if (scores := self._cache.get(fp)) is None:
            g, u, d = channel_norms(model)
            scores = g * u * d
        return kept(self._cache, fp, scores)


class StaticActivation(MaskSource):
    """Static, Wanda-style: mean |activation| over calibration text times the down-column norm."""

    name = "static-act"
    uses_text = False

    def __init__(self, tokenizer=None, calibration: Sequence[str] | None = None):
        self.tokenizer = tokenizer
        if isinstance(calibration, str):  # one text, not one text per character
            calibration = [calibration]
        try:
            texts = [] if calibration is None else list(calibration)
        except TypeError:
            texts = [calibration]
        if not all(isinstance(t, str) for t in texts):
            got = next(type(t).__name__ for t in texts if not isinstance(t, str))
            raise UsageError(f"static-act's calibration must be a text or list of texts, got {got}")
        self.calibration = texts or list(DEFAULT_CALIBRATION)
        self._cache: dict[str, mx.array] = {}

    def scores(self, model, tokens):
        fp = content_hash(model)  # not the fingerprint: adapters keep that, not the weights
        if fp in self._cache:
            return kept(self._cache, fp, self._cache[fp])
        if self.tokenizer is None:
            raise UsageError("static-act needs a tokenizer to read its calibration text")
        sums: dict[int, mx.array] = {}
        n = 0
        for text in self.calibration:
            toks = mx.array(self.tokenizer.encode(text), dtype=mx.int32)
            n += toks.size

            def observe(i, h):
                s = mx.sum(mx.abs(h[0].astype(mx.float32)), axis=0)
                sums[i] = sums[i] + s if i in sums else s

            dense_prefill(model, toks, observe)
            mx.eval(list(sums.values()))
        if not sums:
            raise UsageError("static-act's calibration text has no tokens: give some text")
        act = mx.stack([sums[i] for i in range(len(sums))]) / max(n, 1)
        return kept(self._cache, fp, act * channel_norms(model)[2])


register_source("static", lambda **kw: StaticWeight())
register_source(
    "static-act",
    lambda tokenizer=None, calibration=None, **kw: StaticActivation(tokenizer, calibration),
)
