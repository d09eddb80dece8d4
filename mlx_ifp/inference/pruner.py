"""From a mask to a slim model, and the per-task cache of slim models: ``prune(model, mask)``
copies the kept gate/up rows and down columns into new dense arrays, sharing the rest with the
source. ``Pruner`` ties a model to a mask source and a budget with an LRU of slim models keyed by
(source, text hash, k); ``Pruner.prefill`` is GRIFFIN's recipe: the prompt's dense pass fills a
KV cache and gives the mask, and the slim model decodes from it."""

from __future__ import annotations

import contextvars
import functools
import numbers
import threading
import time
import warnings
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn

from ..core import (
    Budget,
    Mask,
    UsageError,
    check_step,
    count,
    d_ffn,
    example_tokens,
    lora_fused_base,
    origin,
    record_origin,
    slim_copy,
    text_hash,
    token_ids,
    watch_arrays,
)
from ..models import Kept, adapted_copy, default_adapter, export_note, trained_llm
from ..sources import (
    MaskSource,
    dense_prefill,
    holds_predictor,
    keep_warning,
    lora_missing,
    make_source,
    observes_last,
    options_read,
)
from .sampling import MIN_KV_SIZE, is_mask


def prune(model: nn.Module, mask: Mask) -> nn.Module:
    """A slim model keeping ``mask``'s channels (the source model itself if nothing is cut); a
    UserWarning if a trained predictor picked the mask with LLM weights ``model`` lacks."""
    is_mask(mask, "prune takes")
    mask.check(model)
    if missing := lora_missing(model, mask):
        warnings.warn(missing, UserWarning, stacklevel=2)
    if mask.k >= d_ffn(model):
        return model
    slim = slim_copy(model, [mask.indices[i] for i in range(mask.n_layers)])
    info = origin(model, required=False)  # an export's record (its width): run as written
    config = {**(info.get("config") or {}), "mlx_ifp": {"k": mask.k, "d_ffn": mask.d_ffn}}
    record_origin(slim, {**info, "config": config, "pruned_by": mask})  # (``export_note``)
    return slim


@dataclass
class PruneInfo:
    """What one selection cost and what it gave."""

    mask: Mask
    cache_hit: bool
    select_s: float = 0.0
    slice_s: float = 0.0
    active_params: int = 0
    source_params: int = 0
    prefill_s: float = 0.0  # the prompt's dense prefill, when it ran through the source model
    note: str = ""  # e.g. which LLM a trained predictor runs with
    given: bool = False  # the mask was handed in (``--mask FILE``): nothing was selected
    repicks: int = 0  # masks re-picked during generation (``repick``), and what they cost
    repick_select_s: float = 0.0
    repick_slice_s: float = 0.0

    @property
    def active_fraction(self) -> float:
        return self.active_params / max(self.source_params, 1)


class SlimCache:
    """A small LRU of (mask, slim model) keyed by (source key, text hash, k); threads sharing a
    ``Pruner`` share it: every lookup and insertion holds its lock. A slim model handed out is
    the app's to change (``nn.quantize``, ``update``, LoRA layers): changed, it is a miss."""

    def __init__(self, maxsize: int = 4):
        self.maxsize = maxsize
        self._items: OrderedDict[tuple, tuple] = OrderedDict()  # (mask, slim, its watch)
        self._lock = threading.Lock()

    def get(self, key: tuple):
        with self._lock:
            if (found := self._items.get(key)) is not None and found[2:] and found[2]():
                del self._items[key]  # the slim model's arrays changed since: cut anew
                found = None
            if found is not None:
                self._items.move_to_end(key)
            return None if found is None else found[:2]

    def put(self, key: tuple, value: tuple[Mask, nn.Module]) -> None:
        watch = (watch_arrays(value[1]),) if isinstance(value[1], nn.Module) else ()
        with self._lock:
            self._items[key] = (*value, *watch)
            self._items.move_to_end(key)
            while len(self._items) > self.maxsize:
                self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)

    def clear(self) -> None:
        with self._lock:
            self._items.clear()


def predictor_note(model: nn.Module, source: MaskSource) -> str:
    """For a trained predictor: the LLM it runs with (refused: one trained jointly with LoRA or
    full weights on a model loaded without them, its masks silently worse); an export's note."""
    from ..sources import PredictorSource

    if not isinstance(source, PredictorSource):  # an export run whole: what it was pruned to
        return export_note(model) if source.key() == "full" else ""
    trained = trained_llm(source.path)
    if trained is None:
        return f"Predictor: {source.path} (trained with the LLM frozen)"
    applied = origin(model, required=False).get("adapter_path")
    if applied is None or Path(applied).resolve() != Path(source.path).resolve():
        raise UsageError(
            f"the predictor in {source.path} was trained jointly with {trained} weights of the "
            f"LLM: load the model with them (--adapter {source.path}, or "
            "mlx_ifp.load(..., adapter_path=...))"
        )
    return f"Predictor: {source.path}, with its {trained} LLM weights applied"


def default_source(model: nn.Module, budget: Budget | None = None,
                   whole: bool = True) -> tuple[str, str | None]:  # fmt: skip
    """A model's source when none is named, and the shipped adapter folder it needs: its predictor
    if loaded with ``adapter_path=`` (LoRA alone: GRIFFIN); a pruned model (an export, a slim one
    made here) ``full`` if ``whole`` (no keep); the shipped one nearest ``budget``; GRIFFIN."""
    info = origin(model, required=False)
    if (adapter := info.get("adapter_path")) and "pruned_by" not in info:  # (a slim one's: in it)
        return ("predictor" if holds_predictor(adapter) else "griffin"), None
    if export_note(model):  # pruning it again would cut a second time
        return ("full" if whole else "griffin"), None
    shipped = default_adapter(info.get("model"), budget, info.get("embedded"))  # as loaded
    return ("predictor", str(shipped)) if shipped is not None else ("griffin", None)


def ships_predictor(model: nn.Module, budget: Budget) -> bool:
    """Whether ``model``'s default is a predictor shipped with it (an embedded model loaded
    without an adapter folder): naming ``"predictor"`` with no folder means that one."""
    adapter = origin(model, required=False).get("adapter_path")
    return adapter is None and default_source(model, budget)[1] is not None


def mask_owner(model: nn.Module, mask: Mask) -> str | MaskSource | None:
    """The source whose model a given mask is cut from when none is named: the model's default
    (``None``) when its predictor (+ LoRA) picked it; another trained predictor when that one did
    (``predictor_note`` refuses it without its LoRA); else ``"full"``, the bare model."""
    from ..sources import picked_by

    if (folder := picked_by(mask, model)) is None:
        return "full"
    _, shipped = default_source(model, Budget(mask.keep))  # the shipped one nearest the mask's k
    own = shipped or origin(model, required=False).get("adapter_path")
    if own and Path(own).resolve() == Path(folder).resolve():
        return None
    folder = str(Path(folder).resolve())  # one source a model: its shared pruner is kept for it
    return kept_for(model, ("predictor", folder), lambda: make_source("predictor", path=folder))


_KEPT, _KEPT_LOCK = Kept(), threading.Lock()  # (used by threads: each lookup holds it)


def kept_for(model: nn.Module, what: tuple, make):
    """``make()``, one for every live pruner of ``model`` (a picker's source, a LoRA'd copy, a
    fused base), listed by the model weakly: gone with the last pruner holding it, or the model;
    made anew once the model's arrays change; by one thread, under its entry's lock (not all's)."""
    key = (*what, id(model))
    with _KEPT_LOCK:  # an entry: [its lock, the model's watch, the value, weakly]
        if (entry := _KEPT.get(model, key)) is None:
            _KEPT.put(model, key, entry := [threading.Lock(), None, None], 16)
    with entry[0]:
        if entry[1] is None or entry[1]() or (value := entry[2]()) is None:
            value = make()
            entry[1:] = watch_arrays(model), weakref.ref(value)
    return value


class KeepMismatch(UserWarning):
    """A trained predictor is used at another budget than the one it was trained for."""


_KEEP_UNWARNED = contextvars.ContextVar("keep_unwarned", default=False)


def at_mask_width(model: nn.Module, mask: Mask, make, source=None):
    """``make(source, budget)``: a pruner for ``mask`` (one of another model refused as such, not
    for its picker's LoRA) at its width, of ``source``, else ``mask_owner``'s, no ``KeepMismatch``
    from a ``Pruner`` made in this thread meanwhile (``catch_warnings``: process-wide filters)."""
    mask.check(model)
    token = _KEEP_UNWARNED.set(True)
    try:
        return make(mask_owner(model, mask) if source is None else source, Budget(mask.keep))
    finally:
        _KEEP_UNWARNED.reset(token)


#: how LoRA layers outside the FFN (attention) are fused, once, for slim models: packed ones
#: at these bits, or float if None; float ones stay float, exactly (FFN LoRA is fused as each
#: slice is cut: core.slicing). On the packed SmolLM2 (tools/lora_decode_cost.py --packed
#: --attention) 8 bits added KL 3e-4 at +9 MiB, 4 bits KL 0.099, float none at +79 MiB.
FUSED_LORA_BITS: int | None = 8


class Pruner:
    """A resident source model, a mask source and a budget; hands out slim models from an LRU of
    the latest ``cache_size`` (0: none kept; ``keep``, ``align``: the ``Budget``).
    ``source=None`` takes the model's default (``default_source``; ``keep=None`` is 0.5, with an
    export of a pruned model run whole). For an embedded model with a shipped predictor trained
    jointly with LoRA, the slim models are cut from a copy of the model with that LoRA applied
    (sharing every other array); ``model`` itself is unchanged.
    Slim models carry no LoRA layer: those outside the FFN are fused once into ``slim_base``
    (``slicing.lora_fused_base``), the FFN's as each slice is cut."""

    def __init__(self, model: nn.Module, tokenizer=None, source: str | MaskSource | None = None,
                 keep: float | int | str | None = None, align: int = 1, cache_size: int = 4,
                 **source_options):  # fmt: skip
        size, width = cache_size, d_ffn(model)  # NumPy's whole numbers; not a model: one line
        if isinstance(size, bool) or not isinstance(size, numbers.Integral) or size < 0:
            raise UsageError(f"cache_size must be a whole number >= 0, got {cache_size!r}")
        self.source_model, self.changed = model, watch_arrays(model)  # (``check_current``)
        self.budget, shipped = Budget.parse(0.5 if keep is None else keep, align), None
        keys = ("path", "adapter", "adapter_path")  # a predictor's folder; None: not given
        source_options = {k: v for k, v in source_options.items() if v is not None or k not in keys}
        if source == "predictor" and not set(keys) & set(source_options):
            source = None if ships_predictor(model, self.budget) else source  # the shipped one
        if source is None:  # the model's own (an export of a pruned one: whole, unless a keep)
            source, shipped = default_source(model, self.budget, keep is None)
        # a built-in source's options are its factory's (a misspelt keyword is not dropped), refused
        reads = options_read(source) if isinstance(source, str) else set()  # None: a plug-in
        if reads is not None and (extra := sorted(set(source_options) - reads)):
            name = repr(source) if isinstance(source, str) else f"{source.key()!r} (an instance)"
            raise UsageError(
                "Pruner takes model, tokenizer, source, keep, align, cache_size and the mask "
                f"source's options: {name} reads no {', '.join(extra)}"
            )
        if shipped is not None:
            if trained_llm(shipped) is not None:  # (``kept_for``: one copy, one fused base)
                model = kept_for(model, ("copy", shipped), lambda m=model: adapted_copy(m, shipped))
            else:
                source_options = {"path": shipped, **source_options}
        self.model, bits = model, FUSED_LORA_BITS  # masks are picked on it (a predictor: LoRA off)
        self.slim_base = kept_for(model, ("fused", bits), lambda: lora_fused_base(model, bits))
        self.tokenizer = tokenizer
        applied = origin(model, required=False).get("adapter_path")  # its own as "predictor"
        options = {"adapter_path": applied, **source_options}
        self.source = make_source(source, tokenizer=tokenizer, **options)
        self.source_name = source if isinstance(source, str) else None  # the name it was made from
        self.note = predictor_note(model, self.source)
        self.k = self.budget.channels(width)
        if not _KEEP_UNWARNED.get() and (warning := keep_warning(model, self.source, self.budget)):
            warnings.warn(warning, KeepMismatch, stacklevel=2)
        self.cache = SlimCache(int(size))
        self.source_params = count(model)["params"]
        self._active: dict[int, int] = {}

    @classmethod
    def for_mask(cls, model: nn.Module, tokenizer, mask: Mask, cache_size: int = 1) -> Pruner:
        """A pruner cutting ``mask`` as ``generate(mask=...)``: at its width, its picker's model."""
        is_mask(mask, "Pruner.for_mask takes")  # (a path: Mask.load(path, model) reads it)
        make = functools.partial(cls, model, tokenizer, cache_size=cache_size)
        return at_mask_width(model, mask, make)

    def check_current(self) -> None:
        """Refuse a model whose weights changed since this pruner was made (stale slim models)."""
        if self.changed():
            raise UsageError("the model's weights changed since this Pruner was made: make another")

    def encode(self, text: str | dict) -> list[int]:
        """Tokens of a text or a task example (``core.example_tokens``); token ids pass."""
        if isinstance(text, str | dict):
            if isinstance(self.tokenizer, str | None) or not hasattr(self.tokenizer, "encode"):
                what = type(self.tokenizer).__name__  # (model, tokenizer = mlx_ifp.load(...))
                raise UsageError(f"a tokenizer is needed to select channels from text, got {what}")
            return token_ids(example_tokens(self.tokenizer, text), self.model)  # (its vocabulary)
        if not isinstance(text, list | tuple) and not hasattr(text, "tolist"):  # ids: checked there
            raise UsageError(f"a prompt or task is a str or a list, got {type(text).__name__}")
        return token_ids(text, self.model)

    def _finish(self, mask: Mask, slim: nn.Module, hit: bool, t_sel: float, t_slice: float):
        if (params := self._active.get(mask.k)) is None:  # counting walks the tree: once a width
            params = self._active[mask.k] = count(slim)["params"]
        info = PruneInfo(mask, hit, t_sel, t_slice, params, self.source_params, note=self.note)
        return slim, info

    def _cut(self, key: tuple | None, mask: Mask, t_sel: float = 0.0):
        """The slim model of ``mask``, cached under ``key`` (None: not cached), and its info."""
        t0 = time.perf_counter()
        slim = prune(self.slim_base, mask)
        if key is not None:
            self.cache.put(key, (mask, slim))
        return self._finish(mask, slim, False, t_sel, time.perf_counter() - t0)

    def slim_for(self, text, *, key_text=None) -> tuple[nn.Module, PruneInfo]:
        """The slim model for a text (prompt or task description), or for a task given by a
        list of examples (prompts, or ``{"prompt", "completion"}`` with their replies: one mask
        from all of them, ``MaskSource.select_examples``); the same text(s) again: a hit.
        ``key_text``: deprecated and ignored (it keyed the cache: another text under it hit)."""
        if key_text is not None:
            warnings.warn("slim_for's key_text is deprecated and ignored", DeprecationWarning, 2)
        self.check_current()
        many = isinstance(text, list | tuple) and bool(text) and hasattr(text[0], "__len__")
        tokens = None if many else self._encoded([text])[0]  # examples: encoded on a miss only
        ids = [t.tolist() if hasattr(t, "tolist") else t for t in text] if many else tokens
        basis = text_hash(repr(ids)) if self.source.uses_text else ""  # (an array's repr elides)
        key = (self.source.key(), basis, self.k)
        if (hit := self.cache.get(key)) is not None:
            return self._finish(*hit, True, 0.0, 0.0)
        t0 = time.perf_counter()
        pick = self.source.select_examples if many else self.source.select
        mask = pick(self.model, self._encoded(text) if many else tokens, self.k)
        if not isinstance(mask, Mask) or mask.k not in (self.k, d_ffn(self.model)):  # a plug-in
            raise UsageError(f"mask source {self.source.key()!r} gave no mask of {self.k} channels")
        mx.eval(mask.indices)
        return self._cut(key, mask, time.perf_counter() - t0)

    def _encoded(self, texts) -> list[list[int]]:
        if not all(examples := [self.encode(t) for t in texts]):
            raise UsageError("cannot select channels for an empty text")
        return examples

    def prefill(self, tokens, step: int = 2048, max_kv_size: int | None = None,
                progress=None) -> tuple[nn.Module, PruneInfo, list]:  # fmt: skip
        """The prompt through the dense source into a fresh KV cache, and the slim model. The
        mask is selected from that same dense pass over all of ``tokens``: a per-prompt mask
        costs no forward pass of its own (the source needs an ``observer``, as GRIFFIN's). The
        cache holds ``tokens[:-1]``: decode with the slim model from it from ``tokens[-1]``.
        ``progress``: ``dense_prefill``'s, called after each chunk (raising stops the pass)."""
        self.check_current()
        obs = self.source.observer()
        if obs is None:
            raise UsageError(f"mask source {self.source.key()!r} cannot select during a prefill")
        tokens, step = token_ids(tokens, self.model), check_step(step, "step")
        if max_kv_size is not None:  # as generate's (``sampling.check_kv``)
            max_kv_size = check_step(max_kv_size, "max_kv_size", low=MIN_KV_SIZE)
        if progress is not None and not callable(progress):  # (was a TypeError mid-pass)
            raise UsageError(f"progress must be a function (done, total), got {progress!r:.40}")
        if len(tokens) < 2:
            raise UsageError("a dense prefill needs a prompt of at least 2 tokens")
        seen = tokens if observes_last(self.model, len(tokens), max_kv_size) else tokens[:-1]
        key = (self.source.key(), text_hash(str(seen)), self.k)  # a full window: tokens[:-1]'s
        if max_kv_size is not None:  # a rotating cache reads the prompt through its window
            key = (*key, "max_kv_size", max_kv_size)
        hit = self.cache.get(key)
        t0 = time.perf_counter()
        observe = None if hit is not None else obs  # a hit needs only the KV cache
        cache = dense_prefill(self.model, tokens, observe, step, max_kv_size, True, progress)
        t1 = time.perf_counter()
        if hit is not None:
            slim, info = self._finish(hit[0], hit[1], True, 0.0, 0.0)
        else:
            full = self.k >= d_ffn(self.model)
            scores = None if full else obs.scores()
            mask = self.source.mask_from(self.model, mx.array(seen), scores, self.k)
            mx.eval(mask.indices)
            slim, info = self._cut(key, mask, time.perf_counter() - t1)
        info.prefill_s = t1 - t0
        return slim, info, cache

    def slim_from_mask(self, mask: Mask) -> tuple[nn.Module, PruneInfo]:
        """The slim model for a given (e.g. loaded) mask, cached under its own identity."""
        self.check_current()
        is_mask(mask)
        mask.check(self.slim_base)
        hit = self.cache.get(key := ("mask", mask.digest()))
        slim, info = self._cut(key, mask) if hit is None else self._finish(*hit, True, 0.0, 0.0)
        info.given = True
        return slim, info

    def own_slim(self, mask: Mask) -> tuple[nn.Module, PruneInfo]:
        """A slim model for ``mask`` that nobody else holds (not cached): re-picks write into it."""
        return self._cut(None, mask)
