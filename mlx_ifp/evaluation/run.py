"""Evaluate mask sources per domain on the held-out test splits, per input and per task.

For every (source, keep, mode) it reports, per domain: NLL / perplexity of the reference
responses under the pruned model, KL(dense || pruned) and top-1 agreement with the dense model
on those tokens, GSM8K exact match and HumanEval pass@1 from greedy generation. Every source
(dense = ``full``, ``random``, ``static``, ``static-act``, ``griffin``, any registered one such
as a learned static mask, or a saved mask file) goes through ``MaskSource.select``. The report:
a rich table and a markdown table of the results (``table``, ``markdown``).
"""

from __future__ import annotations

import sys
import time
from dataclasses import dataclass, field, replace
from pathlib import Path

import mlx.core as mx
import numpy as np

from ..core import (
    Budget,
    Mask,
    Progress,
    UsageError,
    check_fingerprint,
    count,
    d_ffn,
    layers,
    origin,
    turn_tokens,
)
from ..data import DOMAINS, load_split, tasks
from ..inference import Pruner, check_repick, forced, positions, prune, repick_every
from ..sources import FixedMask, keep_warning, llm_not_carried, make_source, picked_by, read_config
from .metrics import (
    batch_of,
    check_rows,
    dense_prompt,
    intervals,
    logprobs,
    masks_for,
    pairs,
    reply_prompt,
    reply_room,
    scoreable,
    summarise,
    token_metrics,
)
from .sandbox import score_replies

MODES = ("input", "task")
GEN_DOMAINS = {"math": "exact_match", "code": "pass@1"}


@dataclass
class EvalConfig:
    """What to evaluate; the command-line flags map onto these fields."""

    domains: tuple | None = None  # None: every domain the corpus has test items for
    sources: tuple = ("full", "random", "static", "static-act", "griffin")
    keeps: tuple = (0.5, 0.33)
    modes: tuple = MODES
    limit: int | None = 16
    gen_limit: int | None = 4
    max_len: int = 384
    batch_size: int = 8
    max_tokens: dict = field(default_factory=lambda: {"math": 200, "code": 256})
    timeout: float = 5.0
    mask_files: dict = field(default_factory=dict)  # name -> saved mask path (fixed masks)
    adapters: dict = field(default_factory=dict)  # name -> finetune folder (trained predictor)
    prefill: str = "slim"  # or "dense": the prompt unmasked, as `generate --prefill dense`
    repick: int | None = None  # per-input rows re-picked every N reply tokens; None: as generate


# ---------------------------------------------------------------- masks


def generate_replies(
    model, tokenizer, items, masks: list[Mask], max_tokens: int | list, batch_size: int = 8
) -> list[str]:
    """Greedy replies from each item's slim model, of ``max_tokens`` at most (one number: cut
    to the context, ``reply_room``; a list: each item's); items sharing one mask run as one
    batch of at most ``batch_size`` sequences at a time."""
    from mlx_lm.generate import batch_generate, generate

    if not isinstance(max_tokens, list):
        max_tokens = reply_room(model, tokenizer, items, max_tokens)
    replies: list[str | None] = [None] * len(items)
    groups: dict[str, list[int]] = {}
    for i, m in enumerate(masks):
        groups.setdefault(m.digest(), []).append(i)
    for idx in groups.values():
        slim = prune(model, masks[idx[0]])
        prompts = [reply_prompt(tokenizer, items[i]) for i in idx]
        most = [max_tokens[i] for i in idx]
        if len(idx) > 1:
            sizes = dict(completion_batch_size=batch_size, prefill_batch_size=batch_size)
            texts = batch_generate(slim, tokenizer, prompts, max_tokens=most, **sizes).texts
        else:
            texts = [generate(slim, tokenizer, prompts[0], max_tokens=most[0])]
        for i, text in zip(idx, texts, strict=True):
            replies[i] = text
    return replies


def repicked_replies(pruner, items, max_tokens: list[int], every: int) -> list[str]:
    """Greedy replies as ``generate`` writes them re-picking the mask every ``every`` reply
    tokens, first from each item's prompt (the text its one mask reads), slim throughout."""
    from ..inference import generate

    tok, net, opts = pruner.tokenizer, pruner.source_model, {"repick": every, "prefill": "slim"}
    prompts = [(reply_prompt(tok, it), it["prompt"]) for it in items]  # (ids, what a mask reads)
    return [generate(net, tok, p, pruner=pruner, mask_prompt=m, max_tokens=most, **opts)
            for (p, m), most in zip(prompts, max_tokens, strict=True)]  # fmt: skip


def repicked(pruner, items, chunk, every: int, width: int) -> mx.array:
    """(B, L, T, d) masks of a batch scored as generation re-picking every ``every`` reply
    tokens runs it: each item's masks (``inference.forced``: its prompt, then the reference
    reply so far) at the positions they predict from (``inference.positions``)."""
    out = []
    for it, (toks, start) in zip(items, chunk, strict=True):
        masks = forced(pruner, it["prompt"], toks[start:], every)
        at = mx.array(positions(len(masks), start, every, width))
        out.append(mx.stack([m.dense() for m in masks])[at].transpose(1, 0, 2))  # (L, T, d)
    return mx.stack(out)


def repickers(tokenizer, configs, cfg: EvalConfig) -> list[tuple]:
    """Per ``_configs`` entry: (N, a ``Pruner``) for a per-input row re-picked every N reply
    tokens, N as ``generate`` decides it (``inference.repick_every``: None is the source's
    default; a source that cannot re-pick is refused), else (0, None): rows per task, static,
    dense or of a ``--mask`` keep one mask. ``cfg.repick`` N > 0 with no row to re-pick: refused."""
    out, repick = [], check_repick(cfg.repick)
    for _, source, k, mode, net in configs:
        n, pruner = 0, None
        if repick != 0 and mode == "input" and source.uses_text and k < d_ffn(net):
            pruner = Pruner(net, tokenizer, source, keep=k, cache_size=0)
            n = repick_every(pruner, repick, True, [])
        out.append((n, pruner if n else None))
    check_rows(cfg, found=not configs or any(n for n, _ in out))
    return out


# ---------------------------------------------------------------- the whole evaluation


def instructions(data, domain: str, split: str = "test") -> list[dict]:
    """The items of a split with a prompt and a reference, sources taken in turn (so that a
    ``--limit`` sees every source of the domain)."""
    by_source: dict[str, list[dict]] = {}
    for it in load_split(data, domain, split):
        if it["prompt"]:
            by_source.setdefault(it["provenance"]["source"], []).append(it)
    if not by_source:
        raise UsageError(f"domain {domain!r} has no instruction items in its {split} split")
    queues = list(by_source.values())
    return [q[i] for i in range(max(map(len, queues))) for q in queues if i < len(q)]


def _configs(model, tokenizer, cfg: EvalConfig):
    """(label, source, k, mode, net) for every evaluated combination; dense once, static once.
    ``net``: the model the pruned side runs, ``model`` itself or, for a finetune folder that
    also changed the LLM, a copy of it with those adapters applied."""
    d, out = d_ffn(model), []
    for name in cfg.sources:
        source = make_source(name, tokenizer=tokenizer)
        if name == "full":
            out.append(("full", source, d, "input", model))
            continue
        for k in keep_channels(model, cfg.keeps):
            modes = cfg.modes if source.uses_text else ("input",)
            out += [(name, source, k, mode, model) for mode in modes]
    for name, path in cfg.mask_files.items():
        mask = Mask.load(path, model)
        out.append((name, FixedMask(name, mask), mask.k, "input", _picked_on(model, mask)))
    for name, path in cfg.adapters.items():
        out += _adapter_configs(name, path, model, tokenizer, cfg)
    return out


def keep_channels(model, keeps) -> list[int]:
    """The channels per layer each budget keeps, once per count (0.5 and 48 are one budget of a
    96-channel model); a count over ``model``'s FFN width is refused."""
    return list(dict.fromkeys(Budget.parse(keep).channels(d_ffn(model)) for keep in keeps))


def _picked_on(model, mask: Mask):
    """The model a saved mask is cut from, as ``generate --mask`` runs it: a copy of ``model``
    with the LLM weights (LoRA or full) of the trained predictor that picked it, else ``model``."""
    from ..models import adapted_copy

    if (need := llm_not_carried(model, mask)) is None:  # none, or carried already
        return model
    folder = need[0]
    if have := origin(model, required=False).get("adapter_path"):
        raise UsageError(
            f"a mask picked by the predictor in {folder} is scored with its own LoRA, but the "
            f"model carries {have}'s: evaluate on the model loaded without adapters"
        )
    return adapted_copy(model, folder)


def check_mask_files(files: dict) -> None:
    """``--mask NAME=FILE`` files, read before any model loads (a predictor's folder too)."""
    for path in files.values():
        picked_by(Mask.load(path))


def adapter_folder(folder: str, model: str, budget: Budget | None = None) -> str:
    """An ``--adapter NAME=DIR`` folder, as ``generate --adapter`` takes it
    (``models.adapter_folder``: ``default`` is the shipped predictor nearest ``budget``)."""
    from ..models import adapter_folder as folder_of

    return folder_of(folder, model, budget)


def _adapter_configs(name: str, path: str, model, tokenizer, cfg: EvalConfig) -> list:
    """A finetune folder's predictor at the budget it was trained for, on the LLM it was
    trained with: a copy of ``model`` with the folder's LoRA or full weights, if any."""
    from ..models import adapted_copy, trained_llm

    folder = Path(path)
    info, k = read_config(folder), check_adapter(path, model)
    net = adapted_copy(model, folder) if trained_llm(folder) else model
    source = make_source("predictor", tokenizer=tokenizer, path=folder)
    head = info.get("predictor", {}).get("head")
    modes = ("static",) if head == "static" else cfg.modes  # one mask, whatever the input
    return [(name, source, k, mode, net) for mode in modes]


def check_adapter(path: str, model) -> int:
    """An ``--adapter`` folder's trained budget k; refused if none, or made for another model."""
    info = read_config(path)
    if "k" not in info:
        raise UsageError(f"{path} is not a finetune output folder (no k in ifp_config.json)")
    k, d = info["k"], d_ffn(model)
    if isinstance(k, bool) or not isinstance(k, int) or not 1 <= k <= d:
        raise UsageError(f"{path}: k {k!r} in ifp_config.json is not a channel count in 1..{d}")
    if isinstance(pred := info.get("predictor"), dict) and isinstance(pred.get("model"), dict):
        check_fingerprint(pred["model"], model, f"the predictor in {path} was trained for")
    return k


def check_groups(model, groups: int) -> int:
    """``plot overlap --groups``: 1 to ``model``'s layer count, which is returned."""
    if not 1 <= groups <= (n_layers := len(layers(model))):
        raise UsageError(f"--groups must be between 1 and {n_layers}")
    return n_layers


def built_domains(data, domains: tuple | None = None) -> tuple:
    """``domains``, each checked to have test items in ``data`` (a missing one is an error);
    None: every domain that has them, with one warning line on stderr naming the others."""
    if domains is not None:
        for dom in domains:
            instructions(data, dom)
        return tuple(domains)
    kept, skipped = [], []
    for dom in DOMAINS:  # a split file that is there but damaged is an error, not skipped
        there = Path(data, "domains", dom, "test.jsonl").expanduser().is_file()
        has = there and any(it["prompt"] for it in load_split(data, dom))
        (kept if has else skipped).append(dom)
    if not kept:
        raise UsageError(f"{data} has no test items for any domain (run `mlx_ifp data build`)")
    if skipped:
        line = f"Warning: skipping domain(s) {', '.join(skipped)}: no test items in {data}"
        if "prose" in skipped:
            line += "; prose comes from apt-get install debian-reference-en dict-gcide"
        print(line, file=sys.stderr)
    return tuple(kept)


def evaluate(model, tokenizer, data: str | Path, cfg: EvalConfig | None = None, progress=True):
    """Run the evaluation; returns {"results": [row per domain/source/keep/mode], ...}."""
    cfg = cfg or EvalConfig()
    if cfg.domains is None:
        cfg = replace(cfg, domains=built_domains(data))
    domain_tasks = tasks(data)
    splits = {dom: instructions(data, dom)[: cfg.limit] for dom in cfg.domains}
    gen_at = {}  # the items replies are scored on, each checked before any work
    for dom, items in splits.items():
        if cfg.gen_limit and dom in GEN_DOMAINS:
            picked = {id(it) for it in scoreable(items, dom, cfg.gen_limit)}
            gen_at[dom] = [i for i, it in enumerate(items) if id(it) in picked]
    room = {  # their replies' lengths, cut to the context (one warning per domain) or refused
        dom: reply_room(model, tokenizer, [splits[dom][i] for i in at], cfg.max_tokens[dom])
        for dom, at in gen_at.items()
    }
    scored = {dom: pairs(tokenizer, its, cfg.max_len, model, dom) for dom, its in splits.items()}
    configs = _configs(model, tokenizer, cfg)
    repicking = repickers(tokenizer, configs, cfg)
    sizes, d, rows, scores = count(model), d_ffn(model), [], []  # scores: rows' per-item sums
    total = len(configs) * (len(cfg.domains) + len(gen_at))  # a step to score, one to generate
    with Progress("eval", total, enabled=progress, transient=True) as bar:
        for dom, items in splits.items():  # (pairs: one truncation warning per domain)
            b, seqs = cfg.batch_size, scored[dom]
            chunks = [seqs[i : i + b] for i in range(0, len(seqs), b)]
            dense = [logprobs(model, batch_of(c), None, c) for c in chunks]
            mx.eval(dense)
            for (label, source, k, mode, net), (n, pruner) in zip(configs, repicking, strict=True):
                bar.describe(f"{dom}: {label} k={k} per-{mode}, scoring")  # net: model or a copy
                t0, task, per_item = time.perf_counter(), domain_tasks[dom], []
                if not n:  # (re-picked: a batch's masks as it is scored)
                    masks = masks_for(net, tokenizer, source, items, k, mode, task, label)
                for j, chunk in enumerate(chunks):
                    at, x = slice(j * b, j * b + len(chunk)), batch_of(chunk)
                    if n:  # re-picked: (B, L, T, d)
                        stacked = repicked(pruner, items[at], chunk, n, x.shape[1])
                    else:
                        stacked = None if k >= d else mx.stack([m.dense() for m in masks[at]])
                    if stacked is not None and cfg.prefill == "dense":
                        stacked = dense_prompt(stacked, chunk, x.shape[1])
                    lp = logprobs(net, x, stacked, chunk)
                    per_item += token_metrics(dense[j], lp, chunk)
                row = {
                    "domain": dom,
                    "source": label,
                    "keep": round(k / d, 4),
                    "k": k,
                    "mode": mode if source.uses_text else "static",
                    "prefill": cfg.prefill,
                    "repick": n,
                    **summarise(per_item),
                }
                row["active_params"] = sizes["params"] - sizes["ffn_params"] * (d - k) // d
                row["active_fraction"] = row["active_params"] / sizes["params"]
                bar.advance()
                if (at := gen_at.get(dom)) is not None:
                    bar.describe(f"{dom}: {label} k={k} per-{mode}, generating replies")
                    g_items = [items[i] for i in at]
                    if n:
                        replies = repicked_replies(pruner, g_items, room[dom], n)
                    else:
                        g_masks, size, most = [masks[i] for i in at], cfg.batch_size, room[dom]
                        replies = generate_replies(net, tokenizer, g_items, g_masks, most, size)
                    row.update(score_replies(dom, g_items, replies, cfg.timeout))
                    bar.advance()
                row["seconds"] = round(time.perf_counter() - t0, 2)
                rows.append(row)
                scores.append(per_item)
    return {"results": intervals(rows, scores), "params": sizes["params"], "d_ffn": d}


def mask_overlap(
    model,
    tokenizer,
    data: str | Path,
    source: str = "griffin",
    keep: float | None = None,
    n: int = 8,
    groups: int = 3,
    split: str = "test",
    domains: tuple = DOMAINS,
    progress: bool = False,
) -> dict:
    """Mean overlap |A ∩ B| / k of per-input masks between domains, per group of layers.

    Within a domain, pairs of different inputs are compared. Returns {"domains", "groups"
    (layer ranges), "overlap" (G, D, D) list}. ``progress``: a step per prompt, on stderr.
    ``keep`` None: as ``generate``, the budget a trained predictor was trained for, else 0.5.
    """
    applied = origin(model, required=False).get("adapter_path")  # its own predictor, if any
    src = make_source(source, tokenizer=tokenizer, adapter_path=applied)
    d, n_layers = d_ffn(model), check_groups(model, groups)
    if keep is None:  # (the predictor's folder: the adapters the model was loaded with)
        keep = (source == "predictor" and applied and read_config(applied).get("k")) or 0.5
    if note := keep_warning(model, src, keep):  # another budget than its own: said, as generate
        print(f"Warning: {note}", file=sys.stderr)
    k = Budget.parse(keep).channels(d)
    prompts = {dom: instructions(data, dom, split)[:n] for dom in domains}  # sources in turn
    if short := [dom for dom, items in prompts.items() if len(items) < 2]:
        raise UsageError(f"domain {short[0]!r} has fewer than 2 prompts in its {split} split")
    dense, total = {}, sum(map(len, prompts.values()))
    with Progress("plot overlap", total, unit="prompt", enabled=progress, transient=True) as bar:
        for dom, items in prompts.items():
            bar.describe(dom)
            masks = []
            for it in items:
                masks.append(src.select(model, turn_tokens(tokenizer, it["prompt"]), k))
                bar.advance()
            dense[dom] = np.stack([np.array(m.dense(mx.float32)) for m in masks])  # (N, L, d)
    kept = masks[-1].k  # as the source kept it (full: every channel, whatever --keep said)
    bounds = np.linspace(0, n_layers, groups + 1).round().astype(int)
    out = np.zeros((groups, len(domains), len(domains)))
    for g, (lo, hi) in enumerate(zip(bounds[:-1], bounds[1:], strict=True)):
        for i, a in enumerate(domains):
            for j, b in enumerate(domains):
                A, B = dense[a][:, lo:hi], dense[b][:, lo:hi]
                inter = np.einsum("ald,bld->ab", A, B) / (kept * (hi - lo))
                if a == b:  # leave out each input compared with itself
                    m = len(A)
                    out[g, i, j] = (inter.sum() - np.trace(inter)) / (m * (m - 1))
                else:
                    out[g, i, j] = inter.mean()
    groups_desc = [f"layers {bounds[g]}-{bounds[g + 1] - 1}" for g in range(groups)]
    counts = {dom: len(m) for dom, m in dense.items()}  # as many as were there, not as asked for
    meta = {"source": source, "keep": kept / d, "n": max(counts.values()), "n_per_domain": counts}
    return {"domains": list(domains), "groups": groups_desc, "overlap": out.tolist(), **meta}
