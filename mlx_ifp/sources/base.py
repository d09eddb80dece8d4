"""The mask-source interface and its registry, the dense prefill that observing sources read
from, and GRIFFIN, the observing source.

A source returns scores of shape (L, d_ffn); ``select`` keeps the top k per layer. Sources plug
in through ``register_source``, ``make_source`` builds one by name; the other built-in ones live
beside this module.

GRIFFIN (training-free): per prompt, each channel's L2 norm over tokens of the unit-normalised
FFN activations, read off a dense pass (or the prompt's own prefill).
"""

from __future__ import annotations

import contextlib
import inspect
import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from contextvars import ContextVar

import mlx.core as mx
import mlx.nn as nn
from mlx_lm.models.cache import make_prompt_cache, trim_prompt_cache

from ..core import (
    Mask,
    UsageError,
    backbone,
    d_ffn,
    fingerprint,
    layers,
    masked,
    observed,
    text_hash,
    topk_indices,
)


class MaskSource(ABC):
    """Base class: subclasses implement ``scores``; ``uses_text`` says if the text matters."""

    name = "base"
    uses_text = True

    def key(self) -> str:
        """Identifies the source and its settings (used in cache keys and mask files); a
        subclass without a ``name`` of its own is told apart by its class."""
        if self.name == MaskSource.name:
            return f"{type(self).__module__}.{type(self).__qualname__}"
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

    def prefers_dense_prefill(self) -> bool:
        """Whether ``prefill="auto"`` gives a per-prompt mask's prompt a dense prefill (the KV
        cache from the unpruned model, the reply decoded slim). True for observing sources,
        whose mask is read off that very pass; a source overrides it where measured better.
        """
        return self.observer() is not None

    def running(self, model: nn.Module) -> Running | None:
        """A ``Running`` scorer of a text that grows as it is generated (re-picking the mask
        every few reply tokens), or None if this source's scores cannot be kept up that way."""
        return None

    def repicks_by_default(self, model: nn.Module) -> bool:
        """Whether ``repick=None`` re-picks this source's per-prompt masks while generating
        (trained predictors that can: ``docs/results/reroute/``); training-free sources don't."""
        return False

    def select(self, model: nn.Module, tokens: Sequence[int] | mx.array, k: int) -> Mask:
        """The mask keeping the k best-scored channels of each layer for these tokens."""
        tokens = mx.array(tokens, dtype=mx.int32)
        if k >= d_ffn(model):
            return self.mask_from(model, tokens, None, k)
        return self.mask_from(model, tokens, self.checked_scores(model, tokens), k)

    def checked_scores(self, model: nn.Module, tokens: mx.array) -> mx.array:
        """``scores``, refused in one line unless an (L, d_ffn) array without NaN."""
        return check_scores(self.scores(model, tokens), model, self.key())

    def select_examples(self, model: nn.Module, examples: Sequence, k: int) -> Mask:
        """One mask for a task given by example prompts (token lists): the top k of their mean
        per-layer unit-scaled scores, so every example weighs the same whatever its length."""
        examples = [mx.array(t, dtype=mx.int32) for t in examples]
        if not examples or any(t.size == 0 for t in examples):
            raise UsageError("a task's example prompts must be non-empty")
        if len(examples) == 1 or not self.uses_text or k >= d_ffn(model):
            return self.select(model, examples[0], k)
        total = sum(_finite_unit_scale(self.checked_scores(model, t)) for t in examples)
        total = mx.where(mx.isnan(total), 0.0, total)  # +inf in one example, -inf in another
        mask = self.mask_from(model, examples[0], total, k)
        mask.text_hash = text_hash(str([t.tolist() for t in examples]))
        return mask

    def mask_from(self, model: nn.Module, tokens: mx.array, scores: mx.array | None, k: int):
        """The top-k mask of ``scores`` (None: keep all), labelled with this source and text."""
        if scores is None:
            mask = Mask.full(model)
        else:
            scores = check_scores(scores, model, self.key())
            mask = Mask(topk_indices(scores, k), d_ffn(model), fingerprint(model))
        mask.source = self.key()
        mask.text_hash = text_hash(str(tokens.tolist())) if self.uses_text else ""
        return mask


def check_scores(scores, model: nn.Module, source: str) -> mx.array:
    """A source's ``scores`` as an array of shape (L, d_ffn) without NaN (NumPy and lists are
    converted), or a one-line UsageError naming the source."""
    want = (len(layers(model)), d_ffn(model))
    try:
        scores = scores if isinstance(scores, mx.array) else mx.array(scores)
    except (TypeError, ValueError, RuntimeError):  # (a NumPy object array: std::bad_cast)
        got = type(scores).__name__
        msg = f"mask source {source!r} returned {got}, not scores of shape {want}"
        raise UsageError(msg) from None
    if tuple(scores.shape) != want:
        raise UsageError(f"mask source {source!r} returned scores of shape "
                         f"{tuple(scores.shape)}, not {want} (layers, FFN channels)")  # fmt: skip
    if mx.issubdtype(scores.dtype, mx.inexact) and mx.isnan(scores).any().item():
        raise UsageError(f"mask source {source!r} returned NaN scores")
    return scores


def unit_scale(x: mx.array) -> mx.array:
    """Per layer (last axis): mean 0 and unit variance."""
    x = x - x.mean(-1, keepdims=True)
    return x / mx.maximum(mx.sqrt((x * x).mean(-1, keepdims=True)), 1e-6)


def _finite_unit_scale(s: mx.array) -> mx.array:
    """``unit_scale`` of the finite scores of each layer; an infinite score (a channel always or
    never wanted) stays infinite, and a float16 score past its range counts as one."""
    s = s.astype(mx.float32)
    fin = mx.isfinite(s)
    n = mx.maximum(fin.sum(-1, keepdims=True), 1)
    mean = mx.where(fin, s, 0.0).sum(-1, keepdims=True) / n
    return mx.where(fin, unit_scale(mx.where(fin, s, mean)), s)


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

    def output(self, h: mx.array) -> None:  # noqa: B027 (optional: most read none)
        """Take the pass's output, a chunk's final hidden states (B, T, hidden): unread here."""


class Running:
    """Channel scores of a growing text from one dense pass kept going with its own KV cache.

    ``feed`` runs new tokens through ``model`` (FFNs unmasked, inside ``context(model)`` if
    given: e.g. ``lora_disabled``; through ``net``, a view of its first blocks, if given) while
    ``observer`` accumulates its statistics (and outputs); ``scores`` maps them to channel scores
    (L, d_ffn) of everything fed so far, as the source would score that text at once.
    """

    def __init__(self, model: nn.Module, observer: Observer, to_scores, context=None, net=None):
        self.model, self.observer, self.to_scores, self.net = model, observer, to_scores, net
        self.context, self.cache = context, None  # (the KV cache: a list, made by the first feed)
        self.max_kv_size: int | None = None  # its KV cache as bounded as generation's
        self.tokens: list[int] = []

    def feed(self, tokens, step: int = 2048, seen: int = 0, progress=None) -> None:
        """Run ``tokens`` (ints or an array) through the dense pass, after those fed before; the
        first ``seen`` of them for the KV cache only (observed before it was cut back);
        ``progress``: ``dense_prefill``'s."""
        tokens = mx.array(tokens, dtype=mx.int32).reshape(-1)
        if self.cache is None:
            self.cache = make_prompt_cache(self.model, self.max_kv_size)
        off = self.context(self.model) if self.context else contextlib.nullcontext()
        long = tokens.size > 64  # layer by layer: for a few tokens it costs more than it frees
        with off:
            _dense_pass(self.model, tokens, self.cache, self.observer, step, long, False, seen,
                        progress, self.net)  # fmt: skip
        self.tokens += tokens.tolist()

    def scores(self) -> mx.array:
        return self.to_scores(self.observer)


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


def observes_last(model: nn.Module, n: int, max_kv_size: int | None = None) -> bool:
    """Whether ``dense_prefill`` of ``n`` tokens with ``drop_last`` lets its observer see the
    last one: only where the KV cache can be trimmed after it (not a full rotating one)."""
    return _trimmable_after(make_prompt_cache(model, max_kv_size), n)


def _trimmable_after(cache: list, n: int) -> bool:  # (a full rotating cache is not)
    return all(c.is_trimmable() and n < (getattr(c, "max_size", None) or n + 1) for c in cache)


def _dense_pass(model, tokens, cache, observe, step, layer_by_layer=True, clear=True, seen=0,
                progress=None, net=None):  # fmt: skip
    """``tokens`` through the unmasked ``model``'s stack (or ``net``) into ``cache``, ``step`` at a
    time, ``observe`` seeing each FFN activation and chunk's output but the first ``seen`` tokens'
    (started layer by layer with ``layer_by_layer``); MLX's buffer cache cleared after each chunk
    with ``clear``, ``progress(done, total)`` called after it (raising stops the pass there)."""
    net = net if net is not None else backbone(model) or model
    hook = eager(observe) if layer_by_layer else observe
    with masked(model, None):
        for i in range(0, tokens.size, step):
            cut = max(seen - i, 0)  # the chunk's tokens observed before: not again
            see = hook if not cut or hook is None else lambda j, h, c=cut: hook(j, h[:, c:])
            with observed(model, see):
                out = net(tokens[i : i + step][None], cache=cache)
            if isinstance(observe, Observer):  # (GRIFFIN's reads no output: dropped at once)
                observe.output(out[:, cut:])
            out, stats = None, observe.scores() if isinstance(observe, Observer) else []
            mx.eval([c.state for c in cache], stats)
            if clear:
                mx.clear_cache()
            if progress is not None:
                progress(min(i + step, tokens.size), tokens.size)


def dense_prefill(model: nn.Module, tokens, observe=None, step: int = 2048,
                  max_kv_size: int | None = None, drop_last: bool = False,
                  progress=None) -> list:  # fmt: skip
    """Run ``tokens`` through the unmasked source into a new KV cache (chunks of ``step``).

    ``observe`` (an ``Observer``) sees every FFN activation on the way, evaluated layer by
    layer. With ``drop_last`` the cache ends before the last token, which the slim model then
    processes itself; the observer still sees that token where the cache allows it (the token
    runs, then is trimmed off again), not where trimming is impossible (a full rotating cache).
    ``progress(done, total)``: after each chunk (an exception it raises stops the pass there).
    """
    cache = make_prompt_cache(model, max_kv_size)
    tokens = mx.array(tokens, dtype=mx.int32)
    # observe the last token in the same pass, then trim it off, where the cache allows that
    # (a separate one-token pass would cost a whole decoding step)
    trim = drop_last and observe is not None and _trimmable_after(cache, tokens.size)
    tokens = tokens[:-1] if drop_last and not trim else tokens
    _dense_pass(model, tokens, cache, observe, step, progress=progress)
    if trim and trim_prompt_cache(cache, 1) != 1:
        raise RuntimeError("could not trim the observed last token off the KV cache")
    return cache


READING: ContextVar = ContextVar("mlx_ifp_reading", default=None)  # (``sources.selecting``)
SOURCES: dict[str, Callable[..., MaskSource]] = {}


#: the package's own sources: not replaced by a plug-in (``mask_source=None`` picks by name)
BUILT_IN = ("griffin", "random", "full", "static", "static-act", "predictor")


def register_source(name: str, factory: Callable[..., MaskSource]) -> None:
    """Plug in a mask source; ``factory(**options)`` receives tokenizer=, seed=, and so on.
    ``name`` (what ``--mask-source`` takes): ASCII letters, digits, ``-``, ``_`` and ``.``, led
    by a letter or digit; none of the registered names but its own may differ only in case."""
    if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][\w.-]*", name, re.ASCII):
        raise UsageError(f"a mask source's name must be letters, digits, -, _ or ., got {name!r}")
    if not callable(factory):
        raise UsageError(f"mask source {name!r}: the factory must be callable, got {factory!r}")
    clash = [n for n in SOURCES if n.lower() == name.lower() and (n != name or n in BUILT_IN)]
    if clash:
        raise UsageError(f"mask source name {name!r} is taken ({clash[0]!r}): register another")
    SOURCES[name] = factory


def check_source_name(name) -> None:
    """Refuse a name no source is registered under (before any work: nothing is built)."""
    if not isinstance(name, str) or name not in SOURCES:
        raise UsageError(f"unknown mask source {name!r} (choose from {', '.join(SOURCES)})")


def make_source(name: str | MaskSource, **options) -> MaskSource:
    """A source by name (see ``SOURCES``), or pass an instance through."""
    if isinstance(name, MaskSource):
        return name
    check_source_name(name)
    factory = SOURCES[name]
    try:
        inspect.signature(factory).bind(**options)
    except TypeError:
        msg = f"mask source {name!r}: its factory must take the options {', '.join(options)} "
        raise UsageError(msg + "(write it as def factory(**options))") from None
    except ValueError:  # no signature to read (some built-in callables): just call it
        pass
    source = factory(**options)
    if not isinstance(source, MaskSource):
        got = type(source).__name__
        raise UsageError(f"mask source {name!r}: its factory returned {got}, not a MaskSource")
    return source


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

    def scores(self, model, tokens):  # (an empty text: refused by ``GriffinStats.scores``)
        stats = GriffinStats()
        dense_prefill(model, tokens, stats, **(READING.get() or {}))  # ``selecting``'s chunks
        return stats.scores()


register_source("griffin", lambda **kw: Griffin())
