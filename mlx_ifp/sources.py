"""Mask sources: given the model and a text's tokens, score every FFN channel of every layer.

A source returns scores of shape (L, d_ffn); ``select`` keeps the top k per layer. Sources
plug in through ``register_source`` (the trained predictor is one more source).
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence

import mlx.core as mx
import mlx.nn as nn

from . import ffn
from .errors import UsageError
from .mask import Mask, fingerprint, text_hash, topk_indices

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


class MaskSource(ABC):
    """Base class: subclasses implement ``scores``; ``uses_text`` says if the text matters."""

    name = "base"
    uses_text = True

    def key(self) -> str:
        """Identifies the source and its settings (used in cache keys and mask files)."""
        return self.name

    @abstractmethod
    def scores(self, model: nn.Module, tokens: mx.array) -> mx.array:
        """Channel scores of shape (L, d_ffn) for these tokens (higher is kept first)."""

    def observer(self) -> Observer | None:
        """An ``Observer`` when scores come from the dense model's own FFN activations.

        Such a source can select from any dense pass over the text, e.g. the prompt's own
        prefill (``Pruner.prefill``), at no extra forward pass.
        """
        return None

    def select(self, model: nn.Module, tokens: Sequence[int] | mx.array, k: int) -> Mask:
        """The mask keeping the k best-scored channels of each layer for these tokens."""
        tokens = mx.array(tokens, dtype=mx.int32)
        if k >= ffn.d_ffn(model):
            return self.mask_from(model, tokens, None, k)
        return self.mask_from(model, tokens, self.scores(model, tokens), k)

    def mask_from(self, model: nn.Module, tokens: mx.array, scores: mx.array | None, k: int):
        """The top-k mask of ``scores`` (None: keep all), labelled with this source and text."""
        mask = (
            Mask.full(model)
            if scores is None
            else Mask(topk_indices(scores, k), ffn.d_ffn(model), fingerprint(model))
        )
        mask.source = self.key()
        mask.text_hash = text_hash(str(tokens.tolist())) if self.uses_text else ""
        return mask


class Observer(ABC):
    """Accumulates channel statistics from FFN activations, one chunk of tokens at a time."""

    @abstractmethod
    def __call__(self, layer: int, h: mx.array) -> None:
        """Take layer ``layer``'s activation of shape (B, T, d_ffn)."""

    @abstractmethod
    def scores(self) -> mx.array:
        """Channel scores (L, d_ffn) from everything observed so far."""

    def state(self, layer: int) -> list[mx.array]:
        """Arrays a runner may evaluate right after ``layer`` (frees its activation early)."""
        return []


def eager(observe):
    """A hook for ``ffn.observed``: ``observe``, then start evaluating that layer's state.

    Without it every layer's activation stays alive until the end of the pass (on CPU that
    cost ~8% of a 512-token prefill). Only for plain forward passes: no ``mx.compile``/grad.
    Plain functions (and None) pass through unchanged.
    """
    if not isinstance(observe, Observer):
        return observe

    def hook(i: int, h: mx.array) -> None:
        observe(i, h)
        mx.async_eval(observe.state(i))

    return hook


def _trimmable_after(cache: list, n: int) -> bool:
    """Will these caches still be trimmable holding ``n`` tokens? (A full rotating one is not.)"""
    for c in cache:
        size = getattr(c, "max_size", None)
        if not c.is_trimmable() or (size is not None and n >= size):
            return False
    return True


def dense_prefill(
    model: nn.Module,
    tokens,
    observe=None,
    step: int = 2048,
    max_kv_size: int | None = None,
    drop_last: bool = False,
) -> list:
    """Run ``tokens`` through the unmasked source into a new KV cache (chunks of ``step``).

    ``observe`` (an ``Observer``) sees every FFN activation on the way, evaluated layer by
    layer. With ``drop_last`` the cache ends before the last token, which the slim model then
    processes itself; the observer still sees that token where the cache allows it (the token
    runs, then is trimmed off again), not where trimming is impossible (a full rotating cache).
    """
    from mlx_lm.models.cache import make_prompt_cache, trim_prompt_cache

    cache = make_prompt_cache(model, max_kv_size)
    tokens = mx.array(tokens, dtype=mx.int32)
    net = ffn.backbone(model) or model  # hidden states only: the LM head is not needed

    def run(chunk: mx.array) -> None:
        net(chunk[None], cache=cache)
        stats = observe.scores() if isinstance(observe, Observer) else []
        mx.eval([c.state for c in cache], stats)
        mx.clear_cache()

    # observe the last token in the same pass, then trim it off, where the cache allows that
    # (a separate one-token pass would cost a whole decoding step)
    trim = drop_last and observe is not None and _trimmable_after(cache, tokens.size)
    head = tokens[:-1] if drop_last and not trim else tokens
    with ffn.masked(model, None), ffn.observed(model, eager(observe)):
        for i in range(0, head.size, step):
            run(head[i : i + step])
    if trim and trim_prompt_cache(cache, 1) != 1:
        raise RuntimeError("could not trim the observed last token off the KV cache")
    return cache


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


class Griffin(MaskSource):
    """GRIFFIN (training-free): per prompt, channel L2 norm of the unit-normalised activations."""

    name = "griffin"

    def observer(self):
        return GriffinStats()

    def scores(self, model, tokens):
        if tokens.size == 0:
            raise UsageError("cannot select channels for an empty text")
        stats = GriffinStats()
        dense_prefill(model, tokens, stats)
        return stats.scores()


class StaticWeight(MaskSource):
    """Static: one mask for every input, from weight magnitude (gate, up and down norms)."""

    name = "static"
    uses_text = False

    def __init__(self):
        self._cache: dict[str, mx.array] = {}

    def scores(self, model, tokens):
        fp = fingerprint(model)["hash"]
        if fp not in self._cache:
            g, u, d = ffn.channel_norms(model)
            self._cache[fp] = g * u * d
        return self._cache[fp]


class StaticActivation(MaskSource):
    """Static, Wanda-style: mean |activation| over calibration text times the down-column norm."""

    name = "static-act"
    uses_text = False

    def __init__(self, tokenizer=None, calibration: Sequence[str] | None = None):
        self.tokenizer = tokenizer
        self.calibration = list(calibration or DEFAULT_CALIBRATION)
        self._cache: dict[str, mx.array] = {}

    def scores(self, model, tokens):
        fp = fingerprint(model)["hash"]
        if fp in self._cache:
            return self._cache[fp]
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
        act = mx.stack([sums[i] for i in range(len(sums))]) / max(n, 1)
        self._cache[fp] = act * ffn.channel_norms(model)[2]
        return self._cache[fp]


class RandomSource(MaskSource):
    """A random mask (fixed by seed, the same for every input): the lower bound."""

    name = "random"
    uses_text = False

    def __init__(self, seed: int = 0):
        self.seed = seed

    def key(self):
        return f"random(seed={self.seed})"

    def scores(self, model, tokens):
        shape = (len(ffn.layers(model)), ffn.d_ffn(model))
        return mx.random.uniform(shape=shape, key=mx.random.key(self.seed))


class Full(MaskSource):
    """No pruning: every channel kept."""

    name = "full"
    uses_text = False

    def scores(self, model, tokens):
        return mx.ones((len(ffn.layers(model)), ffn.d_ffn(model)))

    def select(self, model, tokens, k):
        mask = Mask.full(model)
        mask.source = self.key()
        return mask


SOURCES: dict[str, Callable[..., MaskSource]] = {
    "griffin": lambda **kw: Griffin(),
    "static": lambda **kw: StaticWeight(),
    "static-act": lambda tokenizer=None, calibration=None, **kw: StaticActivation(
        tokenizer, calibration
    ),
    "random": lambda seed=0, **kw: RandomSource(seed),
    "full": lambda **kw: Full(),
}


def register_source(name: str, factory: Callable[..., MaskSource]) -> None:
    """Plug in a mask source; ``factory(**options)`` receives tokenizer=, seed=, and so on."""
    SOURCES[name] = factory


def make_source(name: str | MaskSource, **options) -> MaskSource:
    """A source by name (see ``SOURCES``), or pass an instance through."""
    if isinstance(name, MaskSource):
        return name
    if name not in SOURCES:
        raise UsageError(f"unknown mask source {name!r} (choose from {', '.join(SOURCES)})")
    return SOURCES[name](**options)
