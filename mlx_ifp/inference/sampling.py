"""A call's arguments and sampling settings, checked at the edge (one line each), the chat
template's and end tokens' options, and the repetition penalties as mlx-lm logits processors."""

from __future__ import annotations

import copy
import difflib
import functools
import inspect
import math
import numbers
import warnings

import mlx.core as mx
import mlx.nn as nn
from mlx_lm.generate import generate_step, speculative_generate_step
from mlx_lm.models.cache import make_prompt_cache
from mlx_lm.sample_utils import make_logits_processors, make_sampler
from mlx_lm.tokenizer_utils import TokenizerWrapper

from ..core import (
    Budget,
    ContextFull,  # (moved to core: eval warns it too)
    Mask,
    UsageError,
    chat_tokens,  # noqa: F401  (inference's export, since it moved to core: chat reads it too)
    check_chat,  # noqa: F401  (the same)
    check_step,
    context_length,
    format_chat,  # noqa: F401  (inference's export)
    read_examples,  # noqa: F401  (inference's export, since it moved to core)
    spaced_reply,  # noqa: F401  (inference's export: the CLI's prefill)
    vocab_size,
)


def is_mask(mask, what: str = "mask must be") -> None:
    """Refuse anything but a ``Mask`` (a path: ``Mask.load`` reads it), in one line."""
    if not isinstance(mask, Mask):
        raise UsageError(f"{what} an mlx_ifp.Mask, got {type(mask).__name__} (read a mask file "
                         "with mlx_ifp.Mask.load(path, model))")  # fmt: skip


def check_mask(mask, task=None, keep=None, align: int = 1, mask_prompt=None) -> None:
    """A ``mask=`` must be a ``Mask`` (or None; read a path with ``Mask.load``), refused beside a
    ``task`` (one would be ignored) or a ``keep`` (or ``align``) other than its own; a
    ``mask_prompt`` (the text a per-prompt mask reads) beside either: nothing would read it."""
    if mask is not None:
        is_mask(mask)
    if mask is not None and task is not None:
        raise UsageError("give a task or a mask, not both (the mask fixes the channels)")
    if mask_prompt is not None and (task is not None or mask is not None):
        other = "task=" if task is not None else "mask="
        why = "only a per-prompt mask reads mask_prompt"
        raise UsageError(f"give mask_prompt= or {other}, not both ({why})")
    asked = [f"keep={keep!r}"] * (keep is not None) + [f"align={align!r}"] * bool(align != 1)
    if mask is not None and asked and mask.keep:  # (a mask of no model: refused)
        if Budget.parse(mask.keep if keep is None else keep, align).channels(mask.d_ffn) != mask.k:
            raise UsageError(
                f"the mask keeps {mask.k} of {mask.d_ffn} FFN channels, not {', '.join(asked)}: "
                "give it without them (the mask fixes the channels)"
            )


def check_parts(model, tokenizer, needed: bool = True) -> None:
    """An mlx-lm model and its tokenizer (None too, unless ``needed``), as mlx_ifp.load gives."""
    hint = "(model, tokenizer = mlx_ifp.load(...))"
    if not isinstance(model, nn.Module):  # (a model's name: generate takes no names)
        raise UsageError(f"model must be an mlx-lm model {hint}, got {type(model).__name__}")
    bad = isinstance(tokenizer, str) or not callable(getattr(tokenizer, "encode", None))  # str too
    if bad and (needed or tokenizer is not None):
        raise UsageError(f"a tokenizer is needed {hint}, got {type(tokenizer).__name__}")


def check_repick(repick) -> int | None:
    """``repick``: None (the source's default), 0 (off) or a whole number of reply tokens >= 1."""
    if repick is not None and (not whole(repick) or repick < 0):
        raise UsageError(f"repick must be 0 (off) or a whole number of tokens >= 1, got {repick!r}")
    return None if repick is None else int(repick)


def with_eos(tokenizer, extra, vocab: int | None = None):
    """``tokenizer``, or a copy of it (mlx-lm's wrapper) that also ends the reply at each of
    the ``extra`` tokens (mlx-lm's ``--extra-eos-token``: a token's text, or its id as a number
    below ``vocab``); one line for one it lacks. The tokenizer given is left as it was; a
    transformers one is wrapped first, as ``mlx_lm.stream_generate`` wraps it (its
    ``eos_token_ids`` is one id, not mlx-lm's set, which the end tokens and XTC read)."""
    if not isinstance(tokenizer, TokenizerWrapper) and hasattr(tokenizer, "convert_tokens_to_ids"):
        tokenizer = TokenizerWrapper(tokenizer)
    if extra is None or (isinstance(extra, list | tuple) and not extra):
        return tokenizer
    if not isinstance(extra, list | tuple) or not hasattr(tokenizer, "add_eos_token"):
        what = "a list of tokens" if hasattr(tokenizer, "add_eos_token") else "an mlx-lm tokenizer"
        raise UsageError(f"extra_eos_tokens needs {what}, got {extra!r:.60}")
    ids = set(tokenizer.eos_token_ids)
    for token in extra:
        if isinstance(token, str) and token.strip().isdecimal():  # an id, as mlx-lm reads it
            token = int(token)
        if isinstance(token, bool) or not isinstance(token, str | numbers.Integral):
            raise UsageError(f"extra_eos_tokens holds tokens (str) or ids, got {token!r:.40}")
        found = token if not isinstance(token, str) else eos_id(tokenizer, token)
        if found is None or not 0 <= found < (vocab or found + 1):
            raise UsageError(f"{token!r:.60} is not a token of this tokenizer (an extra end "
                             "token is one token, or its id)")  # fmt: skip
        ids.add(int(found))
    stops = copy.copy(tokenizer)  # (the wrapper's other state is shared, as it is read-only)
    stops.eos_token_ids = ids  # (mlx-lm's setter: a new set, the caller's untouched)
    return stops


def eos_id(tokenizer, token: str) -> int | None:
    """The id of ``token`` (one token's text), None if it is none (the unknown token's id)."""
    found = tokenizer.convert_tokens_to_ids(token)
    unknown = found == getattr(tokenizer, "unk_token_id", None)
    return None if unknown and token != getattr(tokenizer, "unk_token", None) else found


def fit_context(model, prompt: int, max_tokens: int, cache: list) -> int:
    """``max_tokens``, cut to the room the model's context leaves after ``prompt`` tokens and
    those ``cache`` holds (the given prompt cache, else mlx-lm's; a ``ContextFull`` warning when
    a number was asked for; ``-1``, no limit, stops there too). A prompt that fills the context
    is a UsageError. A cache whose every layer rotates before the context runs past it: not cut,
    what it rotated out not counted (not ``max_kv_size``: mlx-lm's llama makes its own cache)."""
    limit = context_length(model)
    sizes = [getattr(c, "max_size", None) for c in cache]
    rotates = bool(sizes) and None not in sizes and max(sizes) < (limit or 0)
    cached = 0 if rotates else getattr((cache or [None])[0], "offset", 0)
    prompt += cached
    if limit and prompt + 1 > limit:
        had = f" ({cached} in the prompt cache)" if cached else ""
        raise UsageError(f"the prompt has {prompt} tokens{had}; the model's context is {limit}")
    if not limit or rotates or (max_tokens != -1 and prompt + max_tokens <= limit):
        return max_tokens
    if max_tokens != -1:
        fit = f"({limit} tokens): {limit - prompt} of the {max_tokens} tokens asked for fit"
        why = f"the reply stops at the model's context {fit} after the {prompt}-token prompt"
        warnings.warn(ContextFull(why), stacklevel=3)
    return limit - prompt


#: the largest window of the repetition penalties (MLX slices take 32-bit indices)
MAX_WINDOW = 1 << 20
#: the smallest positive temp and repetition_penalty: below it the logits they divide leave
#: float32's range (inf, then NaN), and the sampler draws noise
TINY = 1e-30


def check_sampling(
    max_tokens: int = 256, temp: float = 0.0, top_p: float = 1.0, min_p: float = 0.0, top_k=0
) -> None:
    """Refuse settings that would loop forever or sample garbage (one line each; the CLI before
    the load, the API on every call): ``max_tokens`` a whole number >= 1, or -1 for no limit;
    ``temp`` >= 0 (0: greedy); ``top_p`` in (0, 1]; ``min_p`` in [0, 1), ``top_k`` >= 0 (0: off)."""
    if not whole(top_k) or top_k < 0:
        raise UsageError(f"top_k must be a whole number >= 0 (0 turns it off), got {top_k!r}")
    if not whole(max_tokens) or not (max_tokens >= 1 or max_tokens == -1):  # NumPy's too
        raise UsageError(
            f"max_tokens must be a whole number >= 1 (or -1 for no limit), got {max_tokens!r}"
        )
    for name, value in (("temp", temp), ("top_p", top_p), ("min_p", min_p)):
        ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
        if not (ok and math.isfinite(value)):
            raise UsageError(f"{name} must be a number, got {value!r}")
    if temp < 0 or 0 < temp < TINY:
        raise UsageError(f"temp must be 0 (greedy) or >= {TINY:g}, got {temp!r}")
    if not 0 < top_p <= 1:
        raise UsageError(f"top_p must be in (0, 1] (1 turns nucleus sampling off), got {top_p!r}")
    if not 0 <= min_p < 1:
        raise UsageError(f"min_p must be in [0, 1) (0 turns it off), got {min_p!r}")


#: this package's own generation options (for the hint on a misspelt one)
OWN_OPTIONS = ("max_tokens", "temp", "top_p", "min_p", "top_k", "repetition_penalty")
OWN_OPTIONS += ("presence_penalty", "frequency_penalty", "repetition_context_size", "prefill")
OWN_OPTIONS += ("repick", "logit_bias", "chat_template_config", "extra_eos_tokens")


@functools.cache
def mlx_lm_options() -> frozenset:
    """The keyword options mlx-lm's generation steps take (read once)."""
    known = {"draft_model", "stream"}
    for fn in (generate_step, speculative_generate_step):
        params = inspect.signature(fn).parameters.values()
        known |= {p.name for p in params if p.kind == p.KEYWORD_ONLY}
    return frozenset(known - {"max_tokens"})


def sampler_for(model, temp: float, top_p: float, min_p: float, top_k: int, tokenizer=None,
                **extra):  # fmt: skip
    """mlx-lm's sampler for these (checked) settings: ``top_p`` 0 in float32 (mlx-lm's) keeps
    the top token; ``top_k`` >= the vocabulary is off. ``extra``: ``check_options``'s (XTC's
    spares the newline and ``tokenizer``'s end tokens, as ``mlx_lm generate`` does)."""
    if mx.array(top_p).item() == 0:
        temp = 0.0
    vocab = vocab_size(model)
    top_k = 0 if isinstance(vocab, int) and top_k >= vocab else top_k
    if extra.get("xtc_probability") and tokenizer is not None:
        extra["xtc_special_tokens"] = tokenizer.encode("\n") + list(tokenizer.eos_token_ids)
    return make_sampler(temp, top_p if top_p < 1 else 0.0, min_p, top_k=top_k, **extra)


#: mlx-lm's sampling defaults (temp, top_p, min_p, top_k): what a ``sampler=`` may stand beside
SAMPLING = {"temp": 0.0, "top_p": 1.0, "min_p": 0.0, "top_k": 0}
#: ``make_sampler``'s other options a call may give (``mlx_lm generate``'s flags), their bounds
EXTRA = {"min_tokens_to_keep": (1, None), "xtc_probability": (0, 1), "xtc_threshold": (0, 0.5)}
#: the KV cache quantization mx.quantize offers (``kv_bits``, ``kv_group_size``)
KV_BITS, KV_GROUPS = (2, 3, 4, 5, 6, 8), (32, 64, 128)
MIN_KV_SIZE = 5  # ``max_kv_size``: mlx-lm's rotating cache keeps its first 4 tokens
#: mlx-lm's options that take objects: what each must be (one line, not mlx-lm's traceback)
KINDS = {"sampler": ("a function", callable), "prompt_progress_callback": ("a function", callable)}
KINDS["logits_processors"] = ("a list of functions", lambda v: isinstance(v, list | tuple)
                              and all(map(callable, v)))  # fmt: skip
KINDS["prompt_cache"] = ("a list of KV caches (make_prompt_cache)", lambda v: isinstance(
    v, list | tuple) and bool(v) and all(hasattr(type(c), "state") for c in v))  # fmt: skip
KINDS["draft_model"] = ("an mlx-lm model", lambda v: isinstance(v, nn.Module))
KINDS["input_embeddings"] = ("an mx.array", lambda v: isinstance(v, mx.array))


def check_options(options: dict, sampling=tuple(SAMPLING.values())) -> dict:
    """Refuse, before any work, keyword options that neither ``stream_generate`` nor mlx-lm takes
    (one line naming it, with the nearest known one), a ``sampler`` beside ``sampling`` (temp,
    top_p, min_p, top_k) or ``EXTRA`` other than the defaults (it would drop them), and bad
    values (``check_kv``) or kinds (``KINDS``) of mlx-lm's options. mlx-lm's defaults (None, no
    processors) are dropped from ``options``; ``EXTRA``'s taken out, returned (``sampler_for``)."""
    for key in ("prompt_cache", "sampler", "logits_processors"):
        empty = key == "logits_processors" and isinstance(options.get(key), list | tuple)
        if key in options and (options[key] is None or (empty and not options[key])):
            del options[key]
    extra = {k: v for k in EXTRA if (v := options.pop(k, None)) is not None}  # None: default
    pairs = zip(SAMPLING.items(), sampling, strict=True)
    given = [f"{name}={v!r}" for (name, default), v in pairs if v != default]
    if "sampler" in options and (given := given + [f"{k}={v!r}" for k, v in extra.items()]):
        raise UsageError(
            f"sampler= would drop {', '.join(given)}: give them to "
            "mlx_lm.sample_utils.make_sampler(...), or leave sampler out"
        )
    known = mlx_lm_options()
    for name in options:
        if name in known:
            continue
        near = difflib.get_close_matches(name, [*OWN_OPTIONS, *EXTRA, *known], 1, cutoff=0.5)
        hint = f" (did you mean {near[0]}?)" if near else ""
        if name in inspect.signature(make_sampler).parameters:
            hint = f" (give sampler=mlx_lm.sample_utils.make_sampler({name}=...))"
        raise UsageError(f"unknown generation option {name!r}{hint}")
    for name, (want, ok) in KINDS.items():
        if options.get(name) is not None and not ok(options[name]):
            raise UsageError(f"{name} must be {want}, got {type(options[name]).__name__}")
    check_step(options.get("prefill_step_size", 1))  # (0, -1, None: mlx-lm's tracebacks)
    check_kv(options)
    for name, (low, high) in EXTRA.items():
        value, count = extra.get(name, low), high is None
        ok = isinstance(value, numbers.Integral if count else numbers.Real)
        if not ok or isinstance(value, bool) or not low <= value <= (high or value):  # NaN too
            bound = f"a whole number >= {low}" if count else f"a number in [{low}, {high}]"
            raise UsageError(f"{name} must be {bound}, got {value!r}")
    return extra


def check_kv(options: dict) -> None:
    """mlx-lm's KV cache options: ``max_kv_size`` >= ``MIN_KV_SIZE`` (its rotating cache), not
    beside ``draft_model`` (which drops it) or ``kv_bits`` (a rotating cache is not quantized);
    ``kv_bits``, ``kv_group_size`` as ``mx.quantize``; ``quantized_kv_start`` >= 0, and so on."""
    bounds = {"max_kv_size": MIN_KV_SIZE, "quantized_kv_start": 0, "num_draft_tokens": 1}
    for name, of in (*bounds.items(), ("kv_bits", KV_BITS), ("kv_group_size", KV_GROUPS)):
        v, listed = options.get(name), isinstance(of, tuple)
        if v is not None and not (whole(v) and (v in of if listed else v >= of)):
            want = f"one of {', '.join(map(str, of))}" if listed else f"a whole number >= {of}"
            raise UsageError(f"{name} must be {want}, got {v!r}")
    for other in ("draft_model", "kv_bits"):
        if options.get("max_kv_size") is not None and options.get(other) is not None:
            why = "drops it" if other == "draft_model" else "cannot quantize a rotating cache"
            raise UsageError(f"max_kv_size cannot be combined with {other} (mlx-lm {why})")


def check_kv_cache(model, kv_bits=None, group=None, cache=None, options=None) -> None:
    """``kv_bits`` on this model (and its ``cache``, else mlx-lm's): mlx-lm cannot quantize a
    rotating cache, and the group size (mlx-lm's 64) must divide the head size (else MLX fails).
    A ``prompt_cache`` in ``options`` has the model's layers (then ``draft_model``'s, if given):
    mlx-lm runs the first layers alone on a short one, and fails mid-generation on a draft's."""
    if (given := (options or {}).get("prompt_cache")) is not None:
        draft, want = options.get("draft_model"), len(make_prompt_cache(model))
        n = 0 if draft is None else len(make_prompt_cache(draft))
        if len(given) != want + n:
            of, make = f" + the draft model's {n}", " + make_prompt_cache(draft_model)"
            of, make = ("", "") if draft is None else (of, make)
            raise UsageError(
                f"prompt_cache has {len(given)} layers, not {want + n} (the model's {want}{of}): "
                f"make it with make_prompt_cache(model){make}"
            )
    cache = make_prompt_cache(model) if cache is None and kv_bits is not None else cache or []
    if kv_bits is not None and any(getattr(c, "max_size", None) is not None for c in cache):
        raise UsageError(
            "kv_bits: the model's KV cache rotates (a sliding window): mlx-lm cannot quantize it"
        )
    args = getattr(model, "args", None)
    heads, hidden = getattr(args, "num_attention_heads", 0), getattr(args, "hidden_size", 0)
    head = getattr(args, "head_dim", None) or (heads and hidden // heads)
    if kv_bits is not None and isinstance(head, int) and head and head % (group or 64):
        said = f"kv_group_size {group}" if group else "kv_group_size 64 (mlx-lm's default)"
        fits = ", ".join(str(g) for g in KV_GROUPS if head % g == 0) or "none of 32, 64, 128"
        raise UsageError(f"{said} does not divide the model's head size {head} (fits: {fits})")


def kv_quantized(cache: list | None, options: dict) -> list | None:
    """A prompt's KV cache filled outside mlx-lm (the dense prefill) quantized as mlx-lm's own
    prefill leaves it: with ``kv_bits``, each layer holding ``quantized_kv_start`` tokens."""
    from mlx_lm.generate import DEFAULT_QUANTIZED_KV_START, maybe_quantize_kv_cache

    if cache is not None and (bits := options.get("kv_bits")) is not None:
        start = options.get("quantized_kv_start")
        start = DEFAULT_QUANTIZED_KV_START if start is None else start
        maybe_quantize_kv_cache(cache, start, options.get("kv_group_size") or 64, bits)
    return cache


def whole(value) -> bool:  # a whole number (NumPy's too, as mlx-lm takes them), not a bool
    return isinstance(value, numbers.Integral) and not isinstance(value, bool)


def penalty_processors(
    repetition_penalty: float | None = None,
    presence_penalty: float = 0.0,
    frequency_penalty: float = 0.0,
    repetition_context_size: int = 20,
    logit_bias: dict | None = None,
    vocab: int | None = None,
) -> list:
    """mlx-lm logits processors for the repetition penalties that are on (one line for a bad
    value). ``repetition_penalty`` > 0 divides the logits of the last
    ``repetition_context_size`` tokens (1 or None: off; llama.cpp's ``--repeat-penalty``);
    ``presence_penalty``, ``frequency_penalty`` in [-2, 2] subtract once per token seen, or per
    time seen, in that window (OpenAI's; 0: off). ``logit_bias`` maps token ids (below
    ``vocab``) to a number in [-100, 100] added to their logits (OpenAI's)."""
    bias = check_bias(logit_bias, vocab)
    on = {}  # the penalties that change anything, by mlx-lm's names
    for name, value, off in (
        ("repetition_penalty", repetition_penalty, 1),
        ("presence_penalty", presence_penalty, 0),
        ("frequency_penalty", frequency_penalty, 0),
    ):
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, numbers.Real):
            raise UsageError(f"{name} must be a number, got {value!r}")
        value = float(value)
        ok = value >= TINY if off else -2 <= value <= 2
        if not (math.isfinite(value) and ok):
            bound = f">= {TINY:g} (1 is off)" if off else "in [-2, 2] (0 is off)"
            raise UsageError(f"{name} must be {bound}, got {value!r}")
        if value != off:
            on[name] = value
    size = repetition_context_size
    if not whole(size) or not 1 <= size <= MAX_WINDOW:
        raise UsageError(
            f"repetition_context_size must be a whole number in [1, {MAX_WINDOW}], got {size!r}"
        )
    windows = {name.replace("penalty", "context_size"): int(size) for name in on}
    return make_logits_processors(bias, **on, **windows) if on or bias else []


def check_bias(logit_bias, vocab: int | None) -> dict[int, float] | None:
    """``logit_bias`` as ``{token id: float}`` (None or empty: None); one line if it is not."""
    if logit_bias is None or (isinstance(logit_bias, dict) and not logit_bias):
        return None
    if not isinstance(logit_bias, dict):
        raise UsageError(f"logit_bias must map token ids to numbers, got {logit_bias!r:.60}")
    for t, b in logit_bias.items():
        if not whole(t) or t < 0:
            raise UsageError(f"logit_bias keys are token ids (whole numbers >= 0), got {t!r:.40}")
        if isinstance(vocab, int) and t >= vocab:
            raise UsageError(f"logit_bias token id {t} is outside the vocabulary [0, {vocab})")
        ok = isinstance(b, numbers.Real) and not isinstance(b, bool) and -100 <= b <= 100
        if not ok:  # (NaN fails the bounds)
            raise UsageError(f"logit_bias values must be numbers in [-100, 100], got {b!r:.40}")
    return {int(t): float(b) for t, b in logit_bias.items()}


def seen_first(seen: mx.array, processor):
    """``processor`` with the tokens ``seen`` before the ones mlx-lm passes it."""
    return lambda tokens, logits: processor(mx.concatenate([seen, tokens]), logits)
