"""Evaluate mask sources per domain on the held-out test splits, per input and per task.

For every (source, keep, mode) it reports, per domain: NLL / perplexity of the reference
responses under the pruned model, KL(dense || pruned) and top-1 agreement with the dense model
on those tokens, GSM8K exact match and HumanEval pass@1 from greedy generation. Every source
(dense = ``full``, ``random``, ``static``, ``static-act``, ``griffin``, any registered one such
as a learned static mask, or a saved mask file) goes through ``MaskSource.select``.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated

import mlx.core as mx
import mlx.nn as nn
import typer

from . import data as data_mod
from . import ffn
from .errors import UsageError
from .eval_report import table
from .execute import score_replies
from .mask import Mask, resolve_keep
from .paths import atomic_file
from .prompt import encode, format_chat, messages_for, turn_tokens
from .prune import prune
from .sources import MaskSource, make_source

MODES = ("input", "task")
GEN_DOMAINS = {"math": "exact_match", "code": "pass@1"}
PLAIN_HEAD = {"llama", "mistral", "qwen2", "qwen3"}  # logits = lm_head(model.model(x))
MATH_HINT = "\nSolve it step by step and end with '#### <number>'."


@dataclass
class EvalConfig:
    """What to evaluate; the command-line flags map onto these fields."""

    domains: tuple = data_mod.DOMAINS
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


# ---------------------------------------------------------------- masks


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


def prompt_tokens(tokenizer, prompt: str) -> list[int]:
    """The chat-formatted prompt, ready for the reply."""
    return encode(tokenizer, format_chat(tokenizer, messages_for(prompt)))


def masks_for(model, tokenizer, source: MaskSource, items, k, mode, task: str) -> list[Mask]:
    """One mask per item: from its prompt (per input) or from the task text (per task)."""
    if not source.uses_text or mode == "task":
        mask = source.select(model, turn_tokens(tokenizer, task), k)
        return [mask] * len(items)
    return [source.select(model, turn_tokens(tokenizer, it["prompt"]), k) for it in items]


# ---------------------------------------------------------------- reference-token metrics


def pairs(tokenizer, items: list[dict], max_len: int) -> list[tuple[list[int], int]]:
    """(prompt + reference tokens, index of the first reference token) per item, truncated."""
    out = []
    eos = getattr(tokenizer, "eos_token_id", None)
    for it in items:
        p = prompt_tokens(tokenizer, it["prompt"])
        c = tokenizer.encode(it["completion"], add_special_tokens=False)
        c = c + ([eos] if eos is not None else [])
        toks = (p + c)[:max_len]
        if len(toks) <= len(p):
            p = p[: max_len // 2]  # keep some reference tokens when the prompt is long
            toks = (p + c)[:max_len]
        out.append((toks, len(p)))
    return out


def _batch(chunk):
    width = max(len(t) for t, _ in chunk)
    return mx.array([t + [0] * (width - len(t)) for t, _ in chunk], dtype=mx.int32)


def _head(model: nn.Module, h: mx.array) -> mx.array:
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
    with ffn.masked(model, masks):
        if ffn._model_type(model) in PLAIN_HEAD:
            h = model.model(tokens)
            logits = _head(model, h.reshape(-1, h.shape[-1])[flat])
        else:  # a head with extras (soft-capping, scaling): run the model's own
            out = model(tokens)
            logits = out.reshape(-1, out.shape[-1])[flat]
    logits = logits.astype(mx.float32)
    return logits - mx.logsumexp(logits, axis=-1, keepdims=True)


def dense_prompt(masks: mx.array, chunk, width: int) -> list[mx.array]:
    """Per-layer (B, T, d) masks keeping every channel at prompt positions but the last.

    Teacher-forced, that is what a dense prefill followed by slim decoding computes.
    """
    starts = mx.array([s for _, s in chunk])[:, None]
    prompt = (mx.arange(width)[None] < starts - 1).astype(masks.dtype)[..., None]  # (B, T, 1)
    return [masks[:, i, None, :] * (1 - prompt) + prompt for i in range(masks.shape[1])]


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


# ---------------------------------------------------------------- generation


def generate_replies(model, tokenizer, items, masks: list[Mask], max_tokens: int) -> list[str]:
    """Greedy replies from each item's slim model; items sharing one mask run as one batch."""
    from mlx_lm.generate import batch_generate, generate

    replies: list[str | None] = [None] * len(items)
    groups: dict[str, list[int]] = {}
    for i, m in enumerate(masks):
        groups.setdefault(m.digest(), []).append(i)
    for idx in groups.values():
        slim = prune(model, masks[idx[0]])
        prompts = [prompt_tokens(tokenizer, items[i]["prompt"] + _hint(items[i])) for i in idx]
        if len(idx) > 1:
            texts = batch_generate(slim, tokenizer, prompts, max_tokens=max_tokens).texts
        else:
            texts = [generate(slim, tokenizer, prompts[0], max_tokens=max_tokens)]
        for i, text in zip(idx, texts, strict=True):
            replies[i] = text
    return replies


def _hint(item: dict) -> str:
    return MATH_HINT if item["domain"] == "math" else ""


# ---------------------------------------------------------------- the whole evaluation


def instructions(data, domain: str, split: str = "test") -> list[dict]:
    """The items of a split with a prompt and a reference, sources taken in turn (so that a
    ``--limit`` sees every source of the domain)."""
    by_source: dict[str, list[dict]] = {}
    for it in data_mod.load_split(data, domain, split):
        if it["prompt"]:
            by_source.setdefault(it["provenance"]["source"], []).append(it)
    if not by_source:
        raise UsageError(f"domain {domain!r} has no instruction items in its {split} split")
    queues = list(by_source.values())
    return [q[i] for i in range(max(map(len, queues))) for q in queues if i < len(q)]


def scoreable(items: list[dict]) -> list[dict]:
    """Items generation can be scored on: a GSM8K answer or HumanEval tests."""
    return [it for it in items if "answer" in it["provenance"] or "test" in it["provenance"]]


def _configs(model, tokenizer, cfg: EvalConfig):
    """(label, source, k, mode) for every evaluated combination; dense once, static once."""
    d = ffn.d_ffn(model)
    out = []
    for name in cfg.sources:
        source = make_source(name, tokenizer=tokenizer)
        if name == "full":
            out.append(("full", source, d, "input"))
            continue
        for keep in cfg.keeps:
            k = resolve_keep(keep, d)
            modes = cfg.modes if source.uses_text else ("input",)
            out += [(name, source, k, mode) for mode in modes]
    for name, path in cfg.mask_files.items():
        mask = Mask.load(path, model)
        out.append((name, FixedMask(name, mask), mask.k, "input"))
    for name, path in cfg.adapters.items():
        out += _adapter_configs(name, path, tokenizer, cfg)
    return out


def _adapter_configs(name: str, path: str, tokenizer, cfg: EvalConfig) -> list:
    """A trained predictor at the budget it was trained for (its LLM must be unchanged)."""
    from .predictor import read_config

    folder = Path(path)
    if (folder / "adapters.safetensors").is_file():
        raise UsageError(
            f"{path} also changes the LLM (LoRA/full): eval supports predictors "
            "trained with --train frozen"
        )
    info = read_config(folder)
    if "k" not in info:
        raise UsageError(f"{path} is not a finetune output folder (no k in ifp_config.json)")
    source = make_source("predictor", tokenizer=tokenizer, path=folder)
    head = info.get("predictor", {}).get("head")
    modes = ("input",) if head == "static" else cfg.modes
    return [(name, source, int(info["k"]), mode) for mode in modes]


def evaluate(model, tokenizer, data: str | Path, cfg: EvalConfig | None = None, progress=True):
    """Run the evaluation; returns {"results": [row per domain/source/keep/mode], ...}."""
    from rich.progress import Progress

    cfg = cfg or EvalConfig()
    tasks = data_mod.tasks(data)
    splits = {dom: instructions(data, dom)[: cfg.limit] for dom in cfg.domains}
    configs = _configs(model, tokenizer, cfg)
    count, d = ffn.count(model), ffn.d_ffn(model)
    rows = []
    gen_steps = sum(1 for dom in cfg.domains if dom in GEN_DOMAINS) if cfg.gen_limit else 0
    with Progress(transient=True, disable=not progress) as bar:
        job = bar.add_task("evaluating", total=len(cfg.domains) * len(configs) * (1 + gen_steps))
        for dom, items in splits.items():
            chunks = [
                pairs(tokenizer, items[i : i + cfg.batch_size], cfg.max_len)
                for i in range(0, len(items), cfg.batch_size)
            ]
            dense = [logprobs(model, _batch(c), None, c) for c in chunks]
            mx.eval(dense)
            for label, source, k, mode in configs:
                bar.update(job, description=f"{dom}: {label} k={k} per-{mode}")
                t0 = time.perf_counter()
                masks = masks_for(model, tokenizer, source, items, k, mode, tasks[dom])
                per_item = []
                for j, chunk in enumerate(chunks):
                    ms = masks[j * cfg.batch_size : j * cfg.batch_size + len(chunk)]
                    stacked = None if k >= d else mx.stack([m.dense() for m in ms])
                    x = _batch(chunk)
                    if stacked is not None and cfg.prefill == "dense":
                        stacked = dense_prompt(stacked, chunk, x.shape[1])
                    lp = logprobs(model, x, stacked, chunk)
                    per_item += token_metrics(dense[j], lp, chunk)
                row = {
                    "domain": dom,
                    "source": label,
                    "keep": round(k / d, 4),
                    "k": k,
                    "mode": mode if source.uses_text else "static",
                    "prefill": cfg.prefill,
                    **summarise(per_item),
                }
                row["active_params"] = count["params"] - count["ffn_params"] * (d - k) // d
                row["active_fraction"] = row["active_params"] / count["params"]
                bar.advance(job)
                if cfg.gen_limit and dom in GEN_DOMAINS:
                    at = [i for i, it in enumerate(items) if it in scoreable([it])]
                    at = at[: cfg.gen_limit]
                    g_items, g_masks = [items[i] for i in at], [masks[i] for i in at]
                    replies = generate_replies(
                        model, tokenizer, g_items, g_masks, cfg.max_tokens[dom]
                    )
                    row.update(score_replies(dom, g_items, replies, cfg.timeout))
                    bar.advance(job)
                row["seconds"] = round(time.perf_counter() - t0, 2)
                rows.append(row)
    return {"results": rows, "params": count["params"], "d_ffn": d}


def _csv(value: str, allowed=None, what="value") -> tuple:
    items = tuple(v.strip() for v in value.split(",") if v.strip())
    bad = [v for v in items if allowed is not None and v not in allowed]
    if not items or bad:
        raise UsageError(
            f"unknown {what} {', '.join(map(repr, bad)) or repr(value)} "
            f"(choose from {', '.join(allowed or [])})"
        )
    return items


def _pairs(specs: list[str] | None, flag: str) -> dict:
    out = {}
    for spec in specs or []:
        name, sep, path = spec.partition("=")
        if not sep or not name or not path:
            raise UsageError(f"{flag} takes NAME=PATH, got {spec!r}")
        out[name] = path
    return out


def eval_command(
    model: Annotated[str, typer.Option("--model", help="Model name, .gguf or folder.")] = (
        "smollm2-135m-instruct"
    ),
    data: Annotated[
        str | None,
        typer.Option("--data", help="Corpus folder (default: build or reuse the cached one)."),
    ] = None,
    domains: Annotated[str, typer.Option(help="Comma-separated domains.")] = "math,code,science,"
    "prose",
    sources: Annotated[
        str,
        typer.Option(
            "--mask-sources", help="Comma-separated mask sources (full is the dense model)."
        ),
    ] = "full,random,static,static-act,griffin",
    keep: Annotated[str, typer.Option("--keep", help="Comma-separated keep ratios.")] = "0.5,0.33",
    modes: Annotated[str, typer.Option(help="input, task or both.")] = "input,task",
    mask: Annotated[
        list[str] | None,
        typer.Option(
            "--mask",
            help="Also evaluate a saved mask "
            "file as NAME=PATH (e.g. a learned static mask); repeatable.",
        ),
    ] = None,
    adapter: Annotated[
        list[str] | None,
        typer.Option(
            "--adapter",
            help="Also evaluate a trained predictor (a `finetune --train frozen` folder) as "
            "NAME=DIR, at the budget it was trained for; repeatable.",
        ),
    ] = None,
    limit: Annotated[int | None, typer.Option(help="Test items per domain.")] = 16,
    gen_limit: Annotated[
        int,
        typer.Option(
            help="Items per domain for GSM8K / HumanEval generation (0: skip generation)."
        ),
    ] = 4,
    batch_size: Annotated[int, typer.Option(help="Sequences per forward pass.")] = 8,
    timeout: Annotated[float, typer.Option(help="Seconds per HumanEval program.")] = 5.0,
    max_len: Annotated[int, typer.Option(help="Tokens per prompt + reference (truncated).")] = 384,
    max_tokens: Annotated[int, typer.Option(help="Tokens to generate per reply.")] = 256,
    prefill: Annotated[
        str,
        typer.Option(
            help="slim: the whole sequence pruned; dense: prompt positions unmasked, as "
            "after `generate --prefill dense` (scores only; replies are generated slim)."
        ),
    ] = "slim",
    output: Annotated[str | None, typer.Option("--output", "-o", help="Write the JSON here.")] = (
        None
    ),
):
    """Evaluate mask sources per domain: perplexity, KL and top-1 vs dense, GSM8K, HumanEval."""
    from rich.console import Console

    from .load import load

    if limit is not None and limit < 1:
        raise UsageError("--limit must be at least 1")
    if prefill not in ("slim", "dense"):
        raise UsageError(f"--prefill is slim or dense, not {prefill!r}")
    files = _pairs(mask, "--mask")
    cfg = EvalConfig(
        domains=_csv(domains, data_mod.DOMAINS, "domain"),
        sources=_csv(sources, None, "mask source"),
        keeps=tuple(float(k) for k in _csv(keep)),
        modes=_csv(modes, MODES, "mode"),
        limit=limit,
        gen_limit=gen_limit,
        batch_size=batch_size,
        timeout=timeout,
        max_len=max_len,
        max_tokens={"math": max_tokens, "code": max_tokens},
        mask_files=files,
        adapters=_pairs(adapter, "--adapter"),
        prefill=prefill,
    )
    for name in cfg.sources:
        make_source(name)  # unknown names fail before the model loads
    folder = data or data_mod.build()
    for dom in cfg.domains:
        instructions(folder, dom)
    net, tokenizer = load(model)
    report = evaluate(net, tokenizer, folder, cfg)
    report.update(model=model, data=str(folder), config=asdict(cfg))
    Console(width=160).print(table(report))
    text = json.dumps(report, indent=2)
    if output:
        with atomic_file(output) as tmp:
            tmp.write_text(text + "\n")
    else:
        print(text)
