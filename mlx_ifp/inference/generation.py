"""Generate through the pruned model: pick the mask (prompt or task), get the slim model, stream.

``stream_generate`` yields mlx-lm ``GenerationResponse`` records extended with ``prune`` (what
the selection cost and how many parameters are active).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from functools import partial

import mlx.core as mx
import mlx.nn as nn
from mlx_lm import stream_generate as _mlx_stream
from mlx_lm.generate import GenerationResponse
from mlx_lm.models.cache import make_prompt_cache

from ..core import (
    DEFAULT_REPICK,  # noqa: F401  (importable here as before; it lives in core since s44)
    Budget,
    Mask,
    UsageError,
    check_prompt,
    d_ffn,
    first_user_turn,
    has_chat_template,
    messages_for,
    origin,
    prefilled,
    prompt_ids,
    spaced_reply,
    vocab_size,
)
from ..models import Kept, export_note, notify_compiling, warn_if_packed_matmul_broken
from ..sources import BUILT_IN, SOURCES, MaskSource, dense_prefill, make_source, selecting
from . import repick as repick_mod
from .pruner import PruneInfo, Pruner, at_mask_width, ships_predictor
from .sampling import (
    chat_tokens,
    check_kv_cache,
    check_mask,
    check_options,
    check_parts,
    check_repick,
    check_sampling,
    fit_context,
    kv_quantized,
    penalty_processors,
    sampler_for,
    seen_first,
    with_eos,
)

_PRUNERS = Kept()  # the latest shared pruners, each held by its model: freed with it
_PRUNERS_LOCK = threading.Lock()  # an app's threads share them: each lookup holds it
MAX_PRUNERS = 4
PREFILL = ("auto", "dense", "slim")
#: mlx-lm options that need the whole prompt in its own hands (``prefill`` falls back to slim)
NEEDS_WHOLE_PROMPT = ("prompt_cache", "draft_model", "input_embeddings", "logits_processors")


@dataclass
class Response(GenerationResponse):
    """An mlx-lm generation record plus the pruning that produced it."""

    prune: PruneInfo | None = None


def check_pruner(model: nn.Module, pruner, mask=None, keep=None, align=1, source=None) -> None:
    """A ``pruner=`` argument must be a ``Pruner`` (or None) made for ``model`` itself; its source
    and budget (unless a ``mask`` fixes the channels) are refused beside it, not ignored."""
    if pruner is None:
        return
    if not isinstance(pruner, Pruner):
        raise UsageError(f"pruner must be an mlx_ifp.Pruner, got {type(pruner).__name__}")
    if pruner.source_model is not model:
        raise UsageError("the pruner was made for another model: make one for this model")
    pruner.check_current()
    if source is not None and source not in (pruner.source, pruner.source.name, pruner.source_name):
        raise UsageError(f"the pruner's mask source is {pruner.source.key()!r}, not {source!r}")
    align = pruner.budget.align if align == 1 and align is not True else align  # 1: its own
    budget = Budget.parse(pruner.budget if keep is None else keep, align)
    if mask is None and (k := budget.channels(d_ffn(model))) != pruner.k:
        raise UsageError(f"the pruner keeps {pruner.k} FFN channels per layer, not {k} (keep="
                         f"{keep!r}, align={align!r}): give the budget to the Pruner, or leave it "
                         "out here")  # fmt: skip


def check_task(task, source, pruner=None) -> None:
    """A ``task`` for a source that reads no text (full, static...): refused, as ``--task`` is."""
    source = source if pruner is None else pruner.source
    named = task is not None and source in BUILT_IN and source != "predictor"  # (no task: no work)
    made = make_source(source) if named else source
    if task is not None and isinstance(made, MaskSource) and not made.uses_text:
        raise UsageError(f"mask_source={made.name!r} reads no text: leave out task=")


class _Same:
    """Hashed and compared by identity (a plug-in's factory may be unhashable); a key holding
    it keeps it alive, so its id is not reused."""

    def __init__(self, obj):
        self.obj = obj

    def __hash__(self):
        return id(self.obj)

    def __eq__(self, other):
        return isinstance(other, _Same) and other.obj is self.obj


def get_pruner(
    model: nn.Module,
    tokenizer,
    mask_source: str | MaskSource | None = None,
    keep: float | int | str | None = 0.5,
    align: int = 1,
) -> Pruner:
    """The shared ``Pruner`` (and its slim-model cache) for this model, source and budget
    (``keep=None``: 0.5, an export of a pruned model run whole, as ``Pruner``'s)."""
    # a model loaded with adapter_path= serves its own predictor as mask_source="predictor"
    adapter, made = origin(model, required=False).get("adapter_path"), "pruned_by"
    budget = Budget.parse(0.5 if keep is None else keep, align)
    if mask_source is None and export_note(model) and (not adapter or made in origin(model)):
        mask_source = "full" if keep is None else "griffin"  # a budget asked: pruned again
    if mask_source == "predictor" and ships_predictor(model, budget):
        mask_source = None  # the predictor an embedded model ships: its default, as the CLI's
    source = None
    if mask_source is not None:
        source = make_source(mask_source, tokenizer=tokenizer, adapter_path=adapter)
    k = budget.channels(d_ffn(model))
    name = mask_source if isinstance(mask_source, str) else None  # two names, one class
    factory = _Same(SOURCES.get(name))  # a plug-in registered again under its name: new source
    what = "default" if source is None else source.key()
    key = (id(model), id(tokenizer), name, factory, what, k)

    def cached() -> Pruner | None:  # under the lock: the very model, tokenizer and source
        p = _PRUNERS.get(model, key)  # instance (two of one class may differ in settings)
        ok = p is not None and p.source_model is model and p.tokenizer is tokenizer
        ok = ok and not p.changed()  # weights loaded since: cut anew, not from the old ones
        return p if ok and (source is None or name is not None or p.source is mask_source) else None

    with _PRUNERS_LOCK:
        found = pruner = cached()
    if pruner is None:  # built outside the lock: a model copy takes a while
        pruner = Pruner(model, tokenizer, source, budget)  # not k: a k of 1 would read as 1.0
    with _PRUNERS_LOCK:
        pruner = found or cached() or pruner  # another thread's, built meanwhile: one cache
        _PRUNERS.put(model, key, pruner, MAX_PRUNERS)  # (again: it may have been evicted)
    return pruner


def forget(model: nn.Module) -> None:
    """Drop the shared pruners of ``model`` (and their slim models) now; without it they go with
    the model, once dropped, at Python's next garbage collection."""
    with _PRUNERS_LOCK:
        _PRUNERS.forget(model)


def pruner_for(model, tokenizer, mask, mask_source, keep, align, asks=False) -> Pruner:
    """The shared pruner of a call; for a given mask, at its width (no word on the budget its
    predictor was trained for), of the source named, else ``mask_owner``'s. ``keep=None``: 0.5
    (an export of a pruned model runs whole unless a source, a ``keep`` or ``asks``, a mask for
    a task or re-picks, is named: GRIFFIN's)."""
    if mask is None:
        keep = 0.5 if keep is None and asks else keep  # (the same budget: only an export differs)
        return get_pruner(model, tokenizer, mask_source, keep, align)
    return at_mask_width(model, mask, partial(get_pruner, model, tokenizer), mask_source)


def select(
    model: nn.Module,
    tokenizer,
    prompt: str | list[dict] | None = None,
    *,
    task: str | list[str] | None = None,
    mask: Mask | None = None,
    keep: float | int | str | None = None,
    mask_source: str | MaskSource | None = None,
    align: int = 1,
    pruner: Pruner | None = None,
) -> tuple[nn.Module, PruneInfo]:
    """The slim model for a prompt's first user turn (one that ends with the reply's start: as
    sent), for a task (a description, or example prompts: one mask from all), or a given mask.

    ``pruner`` (optional) supplies the source, budget and cache instead of the shared one.
    ``keep`` (None: 0.5) is the budget; a given mask fixes it: another ``keep`` is refused.
    """
    check_parts(model, tokenizer, needed=False)
    check_mask(mask, task, keep, align)
    check_pruner(model, pruner, mask, keep, align, mask_source)
    check_task(task, mask_source, pruner)  # (a plug-in's by name: below, once made)
    ids = prompt_ids(prompt, model)
    if mask is None and task is None and prompt is not None and ids is None:
        check_prompt(prompt)
    pruner = pruner or pruner_for(model, tokenizer, mask, mask_source, keep, align,
                                  task is not None)  # fmt: skip
    check_task(task, None, pruner)
    if mask is not None:
        return pruner.slim_from_mask(mask)
    if task is not None:
        return pruner.slim_for(task)
    if prompt is None:
        raise UsageError("give a prompt, a task or a mask")
    sent = ids is None and prefilled(prompt) and hasattr(tokenizer, "encode")  # (else: refused)
    ids = chat_tokens(tokenizer, prompt, None)[1] if sent else ids  # as stream_generate's mask
    return pruner.slim_for(ids or first_user_turn(messages_for(prompt)))


def stream_generate(
    model: nn.Module,
    tokenizer,
    prompt: str | list[dict],
    max_tokens: int = 256,
    *,
    task: str | list[str] | None = None,
    mask: Mask | None = None,
    keep: float | int | str | None = None,
    mask_source: str | MaskSource | None = None,
    align: int = 1,
    system_prompt: str | None = None,
    chat_template: bool = True,
    temp: float = 0.0,
    top_p: float = 1.0,
    min_p: float = 0.0,
    top_k: int = 0,
    pruner: Pruner | None = None,
    prefill: str = "auto",
    repick: int | None = None,
    repetition_penalty: float | None = None,
    presence_penalty: float = 0.0,
    frequency_penalty: float = 0.0,
    repetition_context_size: int = 20,
    logit_bias: dict[int, float] | None = None,
    chat_template_config: dict | None = None,
    extra_eos_tokens: list[str | int] | None = None,
    mask_prompt: str | list[int] | None = None,
    **kwargs,
) -> Iterator[Response]:
    """Stream text from the slim model chosen for ``task`` (or ``mask``, or the prompt itself).

    ``prompt``: a user message or message list (templated unless ``chat_template=False``, with
    ``chat_template_config``'s arguments, mlx-lm's flag of that name; a last assistant message is
    the reply's start, continued: ``core.format_chat``) or token ids, sent as they are; a reply
    that continues text (a prefill; a prompt sent raw: ``chat_template=False``, or no template)
    keeps its first token's space, ``core.spaced_reply``; a per-prompt mask reads the turn so
    formatted, all the ids or a prefill's whole prompt. ``extra_eos_tokens`` (texts, ids): more
    stops (``sampling.with_eos``). ``keep`` (None: 0.5): the budget, fixed by a given ``mask``.
    ``prefill``: ``"dense"`` runs the prompt through the unpruned model the slim ones are cut
    from (the source, or its LoRA'd copy for a shipped predictor + LoRA) and decodes with the
    slim one from its KV cache (GRIFFIN's recipe; a per-prompt GRIFFIN mask is then read off
    that same pass, over the whole prompt, unless ``mask_prompt``); ``"slim"`` runs all on the
    slim model; ``"auto"`` is dense for a per-prompt mask from a source that prefers it
    (``MaskSource.prefers_dense_prefill``: GRIFFIN), else slim. Other keyword arguments go to
    ``mlx_lm.stream_generate``; those in ``NEEDS_WHOLE_PROMPT`` make ``auto`` slim; its
    ``prompt_progress_callback`` runs between a dense pass's chunks too (raising stops it). With
    its ``prompt_cache`` the prompt is the tokens it lacks, and ``mask_prompt`` (text or ids) what
    a per-prompt mask reads instead of its first user turn (not with task or mask: refused).
    ``mask_source=None`` (the default) is the model's own: the predictor + LoRA shipped with an
    embedded model, the predictor of the folder it was loaded with (``load(...,
    adapter_path=DIR)``), else GRIFFIN (``Pruner``'s ``default_source``).
    ``repick=N`` (N >= 1) re-picks a per-prompt mask every N reply tokens from the first user
    turn and the reply so far (``inference.repick``; GRIFFIN and GRIFFIN-reading predictors);
    ``None`` (the default) is ``DEFAULT_REPICK`` for a trained predictor's per-prompt masks, 0
    (one mask per prompt) otherwise, or with ``draft_model`` or ``input_embeddings``; nothing
    pruned (``keep=1.0``): no re-pick. The penalties and ``logit_bias``:
    ``penalty_processors``; the penalties see the whole prompt. ``min_tokens_to_keep``,
    ``xtc_probability`` and ``xtc_threshold`` go to mlx-lm's ``make_sampler`` (``sampler_for``).
    """
    if prefill not in PREFILL:
        raise UsageError(f"prefill must be one of {', '.join(PREFILL)}, not {prefill!r}")
    check_sampling(max_tokens, temp, top_p, min_p, top_k)  # mlx-lm's make_sampler options
    max_tokens, top_k = int(max_tokens), int(top_k)  # NumPy's numbers too, as Python's
    temp, top_p, min_p = float(temp), float(top_p), float(min_p)
    rep = (repetition_penalty, presence_penalty, frequency_penalty, repetition_context_size)
    penalties = penalty_processors(*rep, logit_bias, vocab_size(model))
    extra = check_options(kwargs, (temp, top_p, min_p, top_k))  # mlx-lm's defaults dropped
    given = [k for k in ("draft_model", "input_embeddings") if kwargs.get(k) is not None]
    check_parts(model, tokenizer)
    check_mask(mask, task, keep, align, mask_prompt)
    check_pruner(model, pruner, mask, keep, align, mask_source)
    check_task(task, mask_source, pruner)  # (a plug-in's by name: in select, once made)
    if (ids := prompt_ids(prompt, model)) is None:
        check_prompt(prompt)
    repick = check_repick(repick)
    chat = (system_prompt, chat_template, chat_template_config)
    user, tokens = chat_tokens(tokenizer, prompt, ids, *chat)  # ids: the mask reads them all
    user = user if mask_prompt is None else mask_prompt  # (checked where the mask reads it)
    stops = with_eos(tokenizer, extra_eos_tokens, vocab_size(model))  # a copy: the caller's kept
    room = kwargs.get("prompt_cache") or make_prompt_cache(model, kwargs.get("max_kv_size"))
    check_kv_cache(model, kwargs.get("kv_bits"), kwargs.get("kv_group_size"), room, kwargs)
    max_tokens = fit_context(model, len(tokens), max_tokens, room)
    warn_if_packed_matmul_broken(model)
    notify_compiling(model)  # the first packed forward on a GPU can take a minute
    asks = task is not None or bool(repick)  # a mask for the task, or re-picked as it goes
    pruner = pruner or pruner_for(model, tokenizer, mask, mask_source, keep, align, asks)
    per_prompt, observes = task is None and mask is None, pruner.source.observer() is not None
    auto_dense = per_prompt and pruner.source.prefers_dense_prefill()
    dense = prefill == "dense" or (prefill == "auto" and auto_dense)
    clash = [k for k in NEEDS_WHOLE_PROMPT if kwargs.get(k) is not None]
    if dense and clash and prefill == "dense":
        raise UsageError(f"prefill='dense' cannot be combined with {', '.join(clash)}")
    dense = dense and not clash and len(tokens) > 1
    opts = {"step": kwargs.get("prefill_step_size", 2048), "max_kv_size": kwargs.get("max_kv_size")}
    repick = repick_mod.every(pruner, repick, per_prompt, given)
    progress, n = kwargs.get("prompt_progress_callback"), len(tokens)
    if progress is not None:  # called between a dense pass's chunks too: raising stops it there
        opts["progress"] = lambda done, _total: progress(min(done, n - 1), n)
    if dense and progress is not None:  # mlx-lm sees only the last token: report the whole
        progress(0, n)  # first, as mlx-lm does, before the dense prefill runs
        kwargs["prompt_progress_callback"] = lambda done, _total: progress(n - 1 + done, n)
    cache, running = None, None
    if repick:  # the first mask read off the dense pass that later re-picks continue
        slim, info, running = repick_mod.start(pruner, user, **opts)
    elif dense and per_prompt and observes and mask_prompt is None:  # read off the dense pass
        slim, info, cache = pruner.prefill(tokens, **opts)
    else:  # the text a mask reads, before any of the prompt runs: its chunks report (0, n)
        read = selecting(opts["step"], progress and (lambda *_: progress(0, n)))
        slim, info = read.run(select, model, tokenizer, user, task=task, mask=mask, pruner=pruner)
    if dense and cache is None:
        t0 = time.perf_counter()
        # the slim model's own unpruned weights (a shipped LoRA included): with the bare
        # source's cache instead, NLL rose by 0.05 (docs/results/prefill_modes/)
        cache = dense_prefill(pruner.model, tokens, drop_last=True, **opts)
        info.prefill_s = time.perf_counter() - t0
    if "sampler" not in kwargs:  # (built only when none is given)
        kwargs["sampler"] = sampler_for(model, temp, top_p, min_p, top_k, stops, **extra)
    cache, whole = kv_quantized(cache, kwargs), cache is None  # (kv_bits: as mlx-lm's prefill)
    if penalties:
        if not whole:  # mlx-lm sees the last prompt token only: the penalties see the rest too
            seen = mx.array(tokens[:-1][-repetition_context_size:])
            penalties = [seen_first(seen, p) for p in penalties]
        kwargs["logits_processors"] = [*(kwargs.get("logits_processors") or []), *penalties]
    head, fed = {} if whole else {"prompt_cache": cache}, tokens if whole else tokens[-1:]
    if running is not None:
        if whole and kwargs.get("prompt_cache") is None:
            head["prompt_cache"] = make_prompt_cache(slim, kwargs.get("max_kv_size"))
        slim = repick_mod.Repicking(pruner, running, slim, info, repick, len(fed), max_tokens)
    out = _mlx_stream(slim, stops, fed, max_tokens=max_tokens, **head, **kwargs)
    raw = not (chat_template and has_chat_template(tokenizer))  # none to apply: raw, as False
    for r in spaced_reply(out, tokenizer) if raw or prefilled(prompt) else out:
        if not whole:  # report the whole prompt, its dense prefill included (selection and
            # slicing are in ``prune``, not in the prompt speed)
            first_s = 1.0 / r.prompt_tps if r.prompt_tps else 0.0
            r.prompt_tokens = len(tokens)
            r.prompt_tps = len(tokens) / max(info.prefill_s + first_s, 1e-9)
        yield Response(**vars(r), prune=info)


def generate(
    model: nn.Module, tokenizer, prompt: str | list[dict], verbose: bool = False, **kwargs
) -> str:
    """The reply as a string (``kwargs``: ``stream_generate``'s); ``verbose``: printed + footer."""
    if not isinstance(verbose, bool):  # as mlx-lm's: generate(model, tok, prompt, 64) is verbose
        raise UsageError(f"verbose must be True or False, got {verbose!r} (give max_tokens=N)")
    text, last = "", None
    if verbose:  # mlx-lm's opening line
        print("=" * 10)
    for last in stream_generate(model, tokenizer, prompt, **kwargs):
        if verbose:
            print(last.text, end="", flush=True)
        text += last.text
    if verbose and last is not None:
        print("\n" + "\n".join(footer(last)))
    return text


def footer(r: Response) -> list[str]:
    """mlx-lm's verbose footer plus the mask selection, slicing and active parameters."""
    lines = ["=" * 10, f"Prompt: {r.prompt_tokens} tokens, {r.prompt_tps:.3f} tokens-per-sec",
             f"Generation: {r.generation_tokens} tokens, {r.generation_tps:.3f} tokens-per-sec",
             f"Peak memory: {r.peak_memory:.3f} GB"]  # fmt: skip
    if (p := r.prune) is None:
        return lines
    m, how = p.mask, "cache hit" if p.cache_hit else "computed"
    pct = f"{m.keep:.0%}" if 0.01 <= m.keep <= 0.99 or m.k >= m.d_ffn else f"{m.keep:.2%}"
    how = ("given, cache hit" if p.cache_hit else "given") if p.given else how  # nothing selected
    cost = "" if p.given else f"select {p.select_s * 1e3:.1f} ms, "
    if m.k >= m.d_ffn and not p.given:  # keep 1.0: no source picked anything
        lines.append(f"Mask: none, keep {m.k}/{m.d_ffn} FFN channels per layer (nothing pruned)")
    else:
        lines.append(
            f"Mask: {m.source or 'given'}, keep {m.k}/{m.d_ffn} FFN channels per layer "
            f"({pct}), {how}: {cost}slice {p.slice_s * 1e3:.1f} ms"  # (not 0% or 100% of a cut)
        )
    if p.prefill_s:
        lines.append(f"Prompt prefilled by the dense model: {p.prefill_s * 1e3:.1f} ms")
    if n := p.repicks:
        ms = (p.repick_select_s * 1e3, p.repick_slice_s * 1e3)
        lines.append(f"Re-picked the mask {n} time{'s' * (n != 1)} during the reply: dense pass "
                     f"+ select {ms[0]:.0f} ms, slice {ms[1]:.0f} ms in all (in the generation "
                     "speed)")  # fmt: skip
    return lines + [
        f"Active parameters: {p.active_params / 1e6:.1f}M of "
        f"{p.source_params / 1e6:.1f}M ({p.active_fraction:.1%})",
        *([p.note] if p.note else []),
    ]
