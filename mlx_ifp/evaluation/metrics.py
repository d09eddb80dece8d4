"""Teacher-forced scores of reference replies: log-probabilities under a masked model, KL and
top-1 agreement with the dense model, per item and summarised; and which items a generated
reply can be scored on (``scoreable``)."""

from __future__ import annotations

import math
import random
import warnings
from statistics import NormalDist

import mlx.core as mx
import mlx.nn as nn
import numpy as np

from ..core import (
    ContextFull,
    UsageError,
    context_length,
    d_ffn,
    encode,
    format_chat,
    masked,
    messages_for,
    model_type,
    reply_tokens,
    turn_tokens,
)

PLAIN_HEAD = {"llama", "mistral", "qwen2", "qwen3"}  # logits = lm_head(model.model(x))
#: what scoring a generated reply reads from an item's provenance (the first: it is scored)
SCORED_BY = {"math": ("answer",), "code": ("test", "entry_point", "code_prompt")}
MATH_HINT = "\nSolve it step by step and end with '#### <number>'."


def prompt_tokens(tokenizer, prompt: str) -> list[int]:
    """The chat-formatted prompt, ready for the reply."""
    return encode(tokenizer, format_chat(tokenizer, messages_for(prompt)))


def reply_prompt(tokenizer, item: dict) -> list[int]:
    """The prompt a reply to a test item is generated from (math: the answer's format asked)."""
    return prompt_tokens(tokenizer, item["prompt"] + MATH_HINT * (item["domain"] == "math"))


def reply_room(model, tokenizer, items: list[dict], max_tokens: int) -> list[int]:
    """``max_tokens`` per item, cut to the room ``model``'s context leaves after its reply's
    prompt, as ``generate`` cuts a reply (one ``ContextFull`` warning, naming the items' domain,
    counting the replies cut); a prompt that fills the context is refused."""
    limit, room = context_length(model), []
    for it in items:
        if limit and (n := len(reply_prompt(tokenizer, it))) >= limit:
            raise UsageError(
                f"the {it['domain']} test item {it['prompt'][:40]!r}: its reply's prompt takes {n} "
                f"tokens, the model's context is {limit}: no room for a reply (--gen-limit 0: none)"
            )
        room.append(min(max_tokens, limit - n) if limit else max_tokens)
    if cut := sum(r < max_tokens for r in room):  # by domain: two domains' alike, not shown once
        doms = ", ".join(dict.fromkeys(it["domain"] for it in items))
        why = f"{doms}: {cut} of {len(items)} replies stop at the model's context of {limit} tokens"
        warnings.warn(ContextFull(f"{why}, short of --max-tokens {max_tokens}"), stacklevel=2)
    return room


def fit_prompt(tokenizer, prompt: str, budget: int) -> list[int]:
    """The chat-formatted prompt with its user text cut at the end so that it fits ``budget``
    tokens; the template's tail (the assistant header) is always kept."""
    lo, hi = 0, len(prompt)
    while lo < hi:  # the longest prefix of the user text that fits
        mid = (lo + hi + 1) // 2
        if len(prompt_tokens(tokenizer, prompt[:mid])) <= budget:
            lo = mid
        else:
            hi = mid - 1
    return prompt_tokens(tokenizer, prompt[:lo])


def pairs(
    tokenizer, items: list[dict], max_len: int, model=None, domain: str | None = None
) -> list[tuple[list[int], int]]:
    """(prompt + reference tokens, index of the first reference token) per item, truncated.

    The reference is cut at its end. A prompt that leaves no room for it has its user text
    shortened to fit half of ``max_len`` (the chat template kept whole), with one warning that
    counts such items, naming ``domain`` (each domain's its own: Python's filter shows a text
    once). A sequence longer than ``model``'s context is refused.
    """
    out, cut = [], 0
    for it in items:
        p, c = prompt_tokens(tokenizer, it["prompt"]), reply_tokens(tokenizer, it["completion"])
        if len(p) >= max_len:  # keep some reference tokens when the prompt is long
            p = fit_prompt(tokenizer, it["prompt"], max_len // 2)
            cut += 1
            if not 0 < len(p) < max_len:  # the chat template alone fills it
                raise UsageError(
                    f"--max-len {max_len} leaves no room for a reference: the prompt takes "
                    f"{len(p)} tokens even cut short (its chat template)"
                )
        out.append(((p + c)[:max_len], len(p)))
    most = max((len(t) for t, _ in out), default=0)
    if (limit := context_length(model)) and most > limit:
        raise UsageError(
            f"an item takes {most} tokens (--max-len {max_len}), over the model's context of "
            f"{limit} tokens: give --max-len {limit} or less"
        )
    if cut:
        warnings.warn(
            f"{cut} of {len(items)} prompts had {max_len}+ tokens"
            f"{f' in {domain}' if domain else ''}: their user text was "
            f"truncated to fit {max_len // 2} tokens (chat template kept)",
            stacklevel=2,
        )
    return out


def scoreable(items: list[dict], domain: str | None = None, most: int | None = None) -> list:
    """The first ``most`` (None: all) items generation can be scored on: a GSM8K answer or
    HumanEval tests; with ``domain``, that domain's kind alone, each checked to carry what its
    scoring reads (else refused; those past ``most`` are not read)."""
    need = SCORED_BY.get(domain, ())
    marks = {need[0]} if need else {"answer", "test"}
    out = [it for it in items if marks & it["provenance"].keys()][:most]
    for it, key in ((it, key) for it in out for key in need):
        value = it["provenance"].get(key)
        if not isinstance(value, str) and (key != "answer" or type(value) not in (int, float)):
            got = f"not {value!r:.40}" if key in it["provenance"] else "which it lacks"
            raise UsageError(
                f"the {domain} test item {it['prompt'][:40]!r}: scoring a reply to it needs "
                f"{'a number or ' * (key == 'answer')}a text as its provenance's {key!r}, {got}"
            )
    return out


def masks_for(model, tokenizer, source, items, k: int, mode: str, task: str, name=None) -> list:
    """One mask per item: from its prompt (per input), else one from the task text; each of
    ``k`` channels, what the row reports (a source's masks of another count are refused, naming
    the source ``name``)."""
    texts = [it["prompt"] for it in items] if source.uses_text and mode == "input" else [task]
    masks = [source.select(model, turn_tokens(tokenizer, text), k) for text in texts]
    if k < d_ffn(model) and (other := next((m.k for m in masks if m.k != k), None)):
        raise UsageError(
            f"mask source {name or source.key()!r} keeps {other} channels per layer when asked "
            f"for k {k}: the row would report k {k} (ask --keep {other} for what it keeps)"
        )
    return masks * (len(items) // len(masks))


def check_rows(cfg, sources=(), found: bool | None = None) -> None:
    """``cfg.repick`` N > 0 with no row to re-pick refused in one line: ``found`` says if one was;
    None: as ``cfg`` tells before the load (no --adapter, and no input mode, no source of
    ``sources`` that reads text, or keep 1.0 alone; a count of every channel: found later)."""
    flags = "input" in cfg.modes and set(cfg.keeps) != {1} and any(s.uses_text for s in sources)
    if cfg.repick and not ((cfg.adapters or flags) if found is None else found):
        raise UsageError(  # (generate's words, then why none of these rows can)
            "repick re-picks a per-prompt mask: no row here has one to re-pick (per-task, "
            "static, dense, --mask and keep-1.0 rows keep one mask)"
        )


def batch_of(chunk) -> mx.array:
    """Right-padded token rows of (tokens, start) pairs."""
    width = max(len(t) for t, _ in chunk)
    return mx.array([t + [0] * (width - len(t)) for t, _ in chunk], dtype=mx.int32)


def lm_head(model: nn.Module, h: mx.array) -> mx.array:
    """The LM head of an mlx-lm model applied to hidden states (tied or untied)."""
    if "lm_head" in model:
        return model.lm_head(h)
    return model.model.embed_tokens.as_linear(h)


def logprobs(model: nn.Module, tokens: mx.array, masks, chunk) -> mx.array:
    """Log-probabilities (N, V) at the positions predicting each item's reference tokens.

    FFN masks are (B, L, d) or None; the LM head only runs on the N reference positions.
    """
    flat = [
        b * tokens.shape[1] + t
        for b, (toks, s) in enumerate(chunk)
        for t in range(s - 1, len(toks) - 1)
    ]
    flat = mx.array(flat, dtype=mx.int32)
    with masked(model, masks):
        if model_type(model) in PLAIN_HEAD:
            h = model.model(tokens)
            logits = lm_head(model, h.reshape(-1, h.shape[-1])[flat])
        else:  # a head with extras (soft-capping, scaling): run the model's own
            out = model(tokens)
            logits = out.reshape(-1, out.shape[-1])[flat]
    logits = logits.astype(mx.float32)
    return logits - mx.logsumexp(logits, axis=-1, keepdims=True)


def dense_prompt(masks: mx.array, chunk, width: int) -> list[mx.array]:
    """Per-layer (B, T, d) masks, of (B, L, d) or per position (B, L, T, d) ``masks``, keeping
    every channel at prompt positions but the last: teacher-forced, what a dense prefill
    followed by slim decoding computes."""
    starts = mx.array([s for _, s in chunk])[:, None]
    prompt = (mx.arange(width)[None] < starts - 1).astype(masks.dtype)[..., None]  # (B, T, 1)
    layer = (lambda i: masks[:, i]) if masks.ndim == 4 else (lambda i: masks[:, i, None, :])
    return [layer(i) * (1 - prompt) + prompt for i in range(masks.shape[1])]


def token_metrics(dense_lp: mx.array, lp: mx.array, chunk) -> list[dict]:
    """Per item: summed NLL, KL(dense || pruned), top-1 agreement over the reference tokens."""
    targets = mx.array([t for toks, s in chunk for t in toks[s:]], dtype=mx.int32)
    nll = -mx.take_along_axis(lp, targets[:, None], axis=-1)[:, 0]
    kl = (mx.exp(dense_lp) * (dense_lp - lp)).sum(axis=-1)
    agree = mx.argmax(lp, axis=-1) == mx.argmax(dense_lp, axis=-1)
    mx.eval(nll, kl, agree)
    out, at = [], 0
    for toks, s in chunk:
        n = len(toks) - s
        part = slice(at, at + n)
        out.append(
            {
                "tokens": n,
                "nll": nll[part].sum().item(),
                "kl": kl[part].sum().item(),
                "top1": int(agree[part].sum().item()),
            }
        )
        at += n
    return out


def summarise(rows: list[dict]) -> dict:
    n = sum(r["tokens"] for r in rows)
    nll = sum(r["nll"] for r in rows) / max(n, 1)
    return {
        "n": len(rows),
        "tokens": n,
        "nll": nll,
        "ppl": math.exp(min(nll, 50)),
        "kl": sum(r["kl"] for r in rows) / max(n, 1),
        "top1": sum(r["top1"] for r in rows) / max(n, 1),
    }


# ---------------------------------------------------------------- uncertainty over the items

Z95 = 1.959964  # the normal quantile of a two-sided 95% interval (Wilson's score interval)
RESAMPLES = 2000  # eval's paired bootstrap: resamples of a domain's items (seed 0)
TOKEN_KEYS = ("nll", "kl", "top1")  # per-token means, each item's sum over its tokens
RATES = ("exact_match", "pass@1")  # means over the items replies were generated for (1 or 0)


def beta_tail(a: float, b: float, x: float, y: float) -> float:
    """The regularized incomplete beta I_x(a, b), 0 < x < 1, y = 1 - x (given: no digits lost):
    its continued fraction (modified Lentz, as Numerical Recipes' betacf) on the side of
    (a+1)/(a+b+2) where it converges."""
    if x > (a + 1) / (a + b + 2):
        return 1 - beta_tail(b, a, y, x)
    front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x)
    c, d = 1.0, 1 / ((1 - (a + b) * x / (a + 1)) or 1e-300)
    frac = d
    for m in range(1, 100_000):
        for num in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                    -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):  # fmt: skip
            d, c = 1 / ((1 + num * d) or 1e-300), (1 + num / c) or 1e-300
            frac *= c * d
        if abs(c * d - 1) < 1e-15:
            break
    return math.exp(front + b * math.log(y)) * frac / a


def t_quantile(q: float, df: float) -> float:
    """Student's t quantile: the t with P(T <= t) = ``q`` at ``df`` degrees of freedom (inf where
    t²/df passes e^700: |t| past ~1e152 at a small df). Newton in s = log|t| on
    log P(T > |t|) = log(I_{df/(df+t²)}(df/2, 1/2) / 2) (``beta_tail``; the tail p = min(q, 1 - q),
    so a small q keeps its digits), kept inside a bracket of the root (bisected where a step
    leaves it), from the Cornish-Fisher expansion (Abramowitz & Stegun 26.7.5), which alone
    serves from df 1e5 on."""
    if not (0 < q < 1 and df > 0):
        raise UsageError(f"a t quantile needs 0 < q < 1 and df > 0, not q {q}, df {df}")
    if q == 0.5:
        return 0.0
    p, z, sign = min(q, 1 - q), abs(NormalDist().inv_cdf(q)), 1.0 if q > 0.5 else -1.0
    y = z * z
    g = ((y + 1) / 4, ((5 * y + 16) * y + 3) / 96, (((3 * y + 19) * y + 17) * y - 15) / 384)
    t = z * (1 + g[0] / df + g[1] / df**2 + g[2] / df**3)
    if df >= 1e5:  # the expansion's next term is below 1e-16 here (lgamma's digits are not)
        return sign * t
    log_top = math.lgamma((df + 1) / 2) - math.lgamma(df / 2) - math.log(df * math.pi) / 2
    lo, hi = -300.0, (700 + math.log(df)) / 2  # (t²/df below e^700)
    s = min(max(math.log(t), lo), hi) if df >= 1 and t > 0 else (lo + hi) / 2
    for _ in range(400):
        r = math.exp(2 * s - math.log(df))  # t² / df
        tail = beta_tail(df / 2, 0.5, 1 / (1 + r), r / (1 + r)) / 2
        lo, hi = (s, hi) if tail > p else (lo, s)
        if tail > 0:  # Newton: d log(tail) / ds = -(density at t) t / tail
            slope = math.exp(log_top - (df + 1) / 2 * math.log1p(r) + s - math.log(tail))
            step = (math.log(tail) - math.log(p)) / slope
        s, last = s + step if tail > 0 and lo < s + step < hi else (lo + hi) / 2, s
        if abs(s - last) <= 1e-15 * max(1.0, abs(s)) or hi - lo <= 1e-15 * max(1.0, abs(s)):
            break
    return sign * (math.inf if s >= (700 + math.log(df)) / 2 - 1e-9 else math.exp(s))


def ratio_se(sums, weights) -> float | None:
    """Standard error over the items of the ratio r = Σy / Σw (item i: its sum y_i over its w_i
    tokens), the linearised ratio estimator: sqrt(m/(m-1) · Σ(y_i - r·w_i)²) / Σw for m items.
    With every w_i 1 (a mean over items) it is the sample standard deviation over sqrt(m).
    None below two items."""
    m, total = len(sums), float(sum(weights))
    if m < 2 or total <= 0:
        return None
    r = sum(sums) / total
    square = sum((y - r * w) ** 2 for y, w in zip(sums, weights, strict=True))
    return math.sqrt(m / (m - 1) * square) / total


def wilson(p: float, n: int) -> list[float]:
    """The 95% Wilson score interval of a rate ``p`` of ``n`` trials (never outside [0, 1])."""
    z2 = Z95**2 / n
    mid, half = (p + z2 / 2) / (1 + z2), Z95 * math.sqrt(p * (1 - p) / n + z2 / (4 * n)) / (1 + z2)
    return [max(mid - half, 0.0), min(mid + half, 1.0)]


def spread(row: dict, items: list[dict]) -> dict:
    """``row`` (an eval row, its means from ``summarise``) with each mean's uncertainty over
    the test items added, in place: ``<key>_se`` and ``<key>_ci`` ([lo, hi], 95%).

    The unit is the item (a prompt and its reference), not the token: nll, kl and top1 are
    token-weighted means (Σ item sums / Σ tokens), so ``ratio_se`` over the items, and the
    interval the mean ± t standard errors, t Student's 97.5% quantile at m - 1 degrees of
    freedom for m items (2.131 at 16; 1.96 as m grows), cut to the metric's range; ``ppl_ci``
    is exp of ``nll_ci``. exact_match / pass@1 are means over the ``gen_n`` generated replies:
    standard error sqrt(p(1-p)/(n-1)), Wilson interval. None where there are too few items."""
    tokens = [it["tokens"] for it in items]
    t = t_quantile(0.975, len(items) - 1) if len(items) > 1 else math.nan
    for key in TOKEN_KEYS:
        se = row[f"{key}_se"] = ratio_se([it[key] for it in items], tokens)
        mean, top = row[key], 1.0 if key == "top1" else math.inf
        row[f"{key}_ci"] = (
            None if se is None else [max(mean - t * se, 0.0), min(mean + t * se, top)]
        )
    row["ppl_ci"] = row["nll_ci"] and [math.exp(min(v, 50)) for v in row["nll_ci"]]
    for key in RATES:
        if key in row:
            p, n = row[key], row.get("gen_n", 0)
            row[f"{key}_se"] = math.sqrt(p * (1 - p) / (n - 1)) if p is not None and n > 1 else None
            row[f"{key}_ci"] = wilson(p, n) if p is not None and n else None
    return row


def draws(n: int, resamples: int, rng) -> np.ndarray:
    """(resamples, n) item indices drawn with replacement by ``rng`` (a ``random.Random``), a
    resample's n at a time: as tools/paired_ci.py has drawn them, seed for seed."""
    picks = [rng.randrange(n) for _ in range(resamples * n)]
    return np.array(picks, dtype=np.int64).reshape(resamples, n)


def paired_interval(a, b, weights, picks: np.ndarray) -> dict:
    """Row A minus row B scored on the same items: the difference of their weighted means
    Σ(a - b) / Σw (w: an item's tokens, or 1 each for a mean over items), its 95% percentile
    interval over the resamples ``picks`` (``draws``; an item's a and b resampled together),
    and the share of resampled differences at or above 0 (``p_not_below``)."""
    a, b, w = (np.asarray(v, dtype=np.float64) for v in (a, b, weights))
    diffs = (a[picks].sum(axis=1) - b[picks].sum(axis=1)) / np.maximum(w[picks].sum(axis=1), 1)
    diffs, count = np.sort(diffs), len(picks)
    return {
        "diff": float((a.sum() - b.sum()) / max(w.sum(), 1)),
        "lo": float(diffs[int(0.025 * count)]),
        "hi": float(diffs[int(0.975 * count) - 1]),
        "p_not_below": float((diffs >= 0).mean()),
    }


def intervals(rows: list[dict], scores: list[list[dict]], resamples: int = RESAMPLES) -> list:
    """Eval's ``rows``, ``scores`` their per-item sums (``token_metrics``), with ``spread``'s
    keys, and on each row of a domain but its first non-dense one (source not ``full``) a
    ``paired`` dict: its difference from that row (``vs``), per item in pairs, as
    ``paired_interval`` gives it per metric (a seeded bootstrap, seed 0 per domain). The
    replies' 1/0 (``gen_items``, from ``score_replies``) are taken out of the rows."""
    domains: dict[str, list] = {}
    for row, items in zip(rows, scores, strict=True):
        gen = row.pop("gen_items", None)
        domains.setdefault(row["domain"], []).append((spread(row, items), items, gen))
    for group in domains.values():
        ref = next((g for g in group if g[0]["source"] != "full"), None)
        if ref is None:
            continue
        rng, (base, base_items, base_gen) = random.Random(0), ref
        picks = draws(len(base_items), resamples, rng)
        gen_picks = draws(len(base_gen), resamples, rng) if base_gen else None
        vs = {k: base[k] for k in ("source", "k", "mode")}
        for row, items, gen in group:
            if row is base or [it["tokens"] for it in items] != [it["tokens"] for it in base_items]:
                continue
            out = {"vs": vs, "resamples": resamples}
            for key in TOKEN_KEYS:
                each = [[it[key] for it in its] for its in (items, base_items)]
                out[key] = paired_interval(*each, [it["tokens"] for it in items], picks)
            rate = next((key for key in RATES if key in row), None)
            if gen_picks is not None and gen is not None and len(gen) == len(base_gen):
                out[rate] = paired_interval(gen, base_gen, [1] * len(gen), gen_picks)
            row["paired"] = out
    return rows
