# ruff: noqa: B023, E501
"""Per-task masks against per-input masks on the test splits, KL and NLL per domain.

A task is described by one line of text, or by N example prompts from its *validation* split
(never the test items), for a trained run and for GRIFFIN; KL to the original dense model and
NLL per domain; JSON and a table.

    python tools/eval_task_masks.py --run DIR --keep 0.5 --examples 4,16 -o FILE

``--run`` is a finetune output (predictor + LoRA, e.g. mlx_ifp/weights/smollm2-135m-instruct).
``--oracle`` adds a hindsight row: each item's mask from its prompt and reference reply.
``--reroute 16,32`` adds causal rows: the mask re-picked every N reply tokens from the text
before (the prompt and the reply so far, or the last N tokens alone), as generation could.
``--lookahead 16,32`` adds one-mask rows: each item's mask picked from its prompt and the first N
tokens of the dense source model's own greedy reply (a draft: N dense decode steps first).
``--split valid`` scores the validation items instead (to choose such settings; examples then
from the training split, or ``--examples-from valid --holdout``: the valid items after the first
max(--examples), disjoint from the examples). ``--aggregate mean,rank,vote`` adds a row per
count and rule that forms the task mask from its examples (``mean``: ``select_examples``).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import mlx_ifp

from eval_ifp import (  # its folder's
    DOMAINS,
    corpus,
    domain_list,
    domain_summary,
    exit_2_on_usage_error,
    run_args,
)

#: items scored in one batch: the whole test split of a domain does not fit a GPU at once
BATCH = 24


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    run_args(p, "finetune output folder (predictor + LoRA)", 16, "test items per domain")
    p.add_argument("--examples", default="4,16", help="comma-separated example counts")
    p.add_argument("--max-len", type=int, default=320)
    p.add_argument("--no-griffin", action="store_true", help="skip the GRIFFIN rows")
    p.add_argument(
        "--oracle",
        action="store_true",
        help="add a row with each item's mask picked from its prompt *and reference reply* "
        "(hindsight: what per-input selection could reach if it saw the answer)",
    )
    p.add_argument(
        "--reroute",
        default="",
        help="comma-separated N: rows whose mask is re-picked every N reply tokens (causal)",
    )
    p.add_argument(
        "--reroute-window",
        action="store_true",
        help="also the --reroute rows whose mask reads only the last N tokens",
    )
    p.add_argument(
        "--lookahead",
        default="",
        help="comma-separated N: rows with one mask per item, picked from its prompt + a greedy "
        "draft of N reply tokens by the dense source model (N decode steps before the mask)",
    )
    p.add_argument("--split", default="test", choices=("test", "valid"), help="items scored")
    p.add_argument(
        "--examples-from",
        default="valid",
        choices=("valid", "train"),
        help="the split example prompts come from (train when --split valid)",
    )
    p.add_argument(
        "--with-replies",
        action="store_true",
        help="also, per count, a mask from the examples' prompts and their reference replies",
    )
    p.add_argument(
        "--vote",
        action="store_true",
        help="also, per count, a mask of the channels most often in the examples' own masks",
    )
    p.add_argument(
        "--aggregate",
        default="mean",
        help="comma-separated rules forming a task mask from its examples, a row each: mean "
        "(select_examples), rank (mean rank-normalised scores), vote (as --vote)",
    )
    p.add_argument(
        "--holdout",
        action="store_true",
        help="with --split valid --examples-from valid: score the valid items after the first "
        "max(--examples) (the examples), never the examples themselves",
    )
    p.add_argument("--no-description", action="store_true", help="skip the description rows")
    p.add_argument(
        "--domains",
        type=domain_list,
        default=DOMAINS,
        help="comma-separated domains (default: the four of the earlier reports)",
    )
    p.add_argument("-o", "--output", help="write the JSON here")
    a = p.parse_args()
    for flag, given in (("--reroute", a.reroute), ("--lookahead", a.lookahead)):
        try:
            steps = [int(x) for x in given.split(",") if x.strip()]
        except ValueError:
            steps = [0]
        if any(n < 1 for n in steps):
            p.error(f"{flag} takes whole numbers >= 1, got {given!r} (leave it out: no such row)")
    rules = [r.strip() for r in a.aggregate.split(",") if r.strip()]
    if not rules or any(r not in AGGREGATES for r in rules):
        p.error(f"--aggregate takes {', '.join(AGGREGATES)} (comma-separated), got {a.aggregate!r}")
    a.aggregate = [r for r in AGGREGATES if r in rules or (r == "vote" and a.vote)]
    if a.holdout and not (a.split == a.examples_from == "valid"):
        p.error("--holdout needs --split valid --examples-from valid")
    return a


#: the rules --aggregate names, in row order
AGGREGATES = ("mean", "rank", "vote")


def task_mask(src, model, prompts, k: int, rule: str, scores_of=None):
    """One task mask from its example prompts (token lists) by ``rule``: ``mean``
    (``select_examples``: the top k of the mean unit-scaled scores); ``vote`` (the k channels
    most often in the examples' own top-k masks); ``rank`` (the top k of the summed per-layer
    ranks of each example's scores). Ties in vote and rank go to the mean unit-scaled score.
    ``scores_of(src, tokens)``: one prompt's scores (default: ``src.scores``)."""
    from mlx_ifp.core.mask import topk_indicator
    from mlx_ifp.sources.base import unit_scale

    import mlx.core as mx

    if rule == "mean":
        return src.select_examples(model, prompts, k)
    if scores_of is None:
        scores_of = lambda s, t: s.scores(model, mx.array(t, dtype=mx.int32))  # noqa: E731
    scores = [scores_of(src, t).astype(mx.float32) for t in prompts]
    if rule == "vote":
        key = sum(topk_indicator(x, k).astype(mx.int32) for x in scores)
    else:
        key = sum(ranks(x) for x in scores)
    width = scores[0].shape[-1]  # key * width + the mean's rank, in int64: N * width**2
    key = key.astype(mx.int64) * width + ranks(sum(unit_scale(x) for x in scores))  # > 2**31
    return src.mask_from(model, mx.array(prompts[0]), ranks(key).astype(mx.float32), k)


def draft(model, tokens, n: int, stops) -> list[int]:
    """Up to ``n`` greedy reply tokens of ``model`` after ``tokens`` (the prompt, its chat
    template's reply start included), with a KV cache; the end token (``stops``) ends it, unkept."""
    import mlx.core as mx
    from mlx_lm.models.cache import make_prompt_cache

    cache, x, out = make_prompt_cache(model), mx.array([tokens], dtype=mx.int32), []
    for _ in range(n):
        nxt = mx.argmax(model(x, cache=cache)[:, -1], axis=-1)
        if (token := nxt.item()) in stops:
            break
        out.append(token)
        x = nxt[None]
    return out


def lookahead_masks(src, model, items, k: int, n: int, stops, drafts=None, longest: int = 0):
    """One mask per item (``(prompt tokens, reply start)`` as ``metrics.pairs`` gives): picked
    from its prompt and ``model``'s greedy draft of ``n`` reply tokens, as one-mask generation
    could after ``n`` dense decode steps. ``drafts`` (a dict, shared by the rows and arms) keeps
    each prompt's draft of ``max(n, longest)`` tokens: a shorter one is its start (greedy)."""
    masks, drafts = [], {} if drafts is None else drafts
    for toks, start in items:
        prompt = list(toks[:start])
        if tuple(prompt) not in drafts:
            drafts[tuple(prompt)] = draft(model, prompt, max(n, longest), stops)
        masks.append(src.select(model, prompt + drafts[tuple(prompt)][:n], k))
    return masks


def ranks(x):
    """Each row's ranks 0..d-1, int32 (the largest ranks d - 1)."""
    import mlx.core as mx

    return mx.argsort(mx.argsort(x, axis=-1), axis=-1).astype(mx.int32)


def main() -> None:
    a = parse()
    domains = a.domains
    from mlx_ifp.common import UsageError, atomic_file
    from mlx_ifp.core import ffn
    from mlx_ifp.core.mask import Budget, topk_indicator
    from mlx_ifp.core.prompt import turn_tokens
    from mlx_ifp.data import tasks
    from mlx_ifp.evaluation import metrics
    from mlx_ifp.evaluation.run import instructions
    from mlx_ifp.sources import PredictorSource, make_source
    from mlx_ifp.sources.predictor.model import source_pass

    import mlx.core as mx

    data = corpus(a.data)
    counts = [int(n) for n in a.examples.split(",") if n.strip()]
    skip = max(counts, default=0) if a.holdout else 0  # the examples: never scored
    if a.split == a.examples_from and not a.holdout:
        counts = []  # never examples from the split being scored
    items = {d: instructions(data, d, a.split)[skip : skip + a.limit] for d in domains}
    if a.holdout and (short := [d for d in domains if not items[d]]):
        raise UsageError(
            f"no valid items after the first {skip} (the examples) in {', '.join(short)}"
        )
    pool = (
        {d: instructions(data, d, a.examples_from)[: max(counts)] for d in domains}
        if counts
        else {}
    )
    base, tok = mlx_ifp.load(a.model, dequantize=True)
    tuned = mlx_ifp.load(a.model, dequantize=True, adapter_path=a.run)[0]
    k = Budget.parse(a.keep).channels(ffn.d_ffn(base))
    text = tasks(data)
    chunks = {d: metrics.pairs(tok, items[d], a.max_len) for d in domains}
    parts = {
        d: [chunks[d][i : i + BATCH] for i in range(0, len(chunks[d]), BATCH)] for d in domains
    }
    dense_lp = {
        d: [metrics.logprobs(base, metrics.batch_of(c), None, c) for c in parts[d]] for d in domains
    }
    mx.eval(dense_lp)
    report = {"run": a.run, "keep": a.keep, "k": k, "limit": a.limit, "data": data, "rows": []}
    report["split"] = a.split
    report["items_from"] = skip  # the scored items: the split's [items_from : items_from + limit]

    def stacked(masks):
        """(B, L, d) from one Mask per item, or (B, L, T, d) from (L, T, d) arrays."""
        if not isinstance(masks[0], mx.array):
            return mx.stack([x.dense() for x in masks])
        width = max(m.shape[1] for m in masks)
        return mx.stack([mx.pad(m, [(0, 0), (0, width - m.shape[1]), (0, 0)]) for m in masks])

    def score(name, model, masks_of):
        t0, row = time.perf_counter(), {"row": name, "domains": {}}
        for d in domains:
            masks, per_item = masks_of(d), []
            for i, c in enumerate(parts[d]):  # BATCH items at a time: a whole split fits
                m = stacked(masks[i * BATCH : (i + 1) * BATCH])
                lp = metrics.logprobs(model, metrics.batch_of(c), m, c)
                per_item += metrics.token_metrics(dense_lp[d][i], lp, c)
            row["domains"][d] = domain_summary(per_item)
        for key in ("kl", "nll"):
            row[key] = sum(row["domains"][d][key] for d in domains) / len(domains)
        row["seconds"] = round(time.perf_counter() - t0, 1)
        report["rows"].append(row)
        print(f"{name:<44} KL {row['kl']:.3f}  NLL {row['nll']:.3f}", file=sys.stderr)

    def rerouted(src, toks, start, n, window):
        """(L, T, d) masks of one item: the position fed at step p runs the mask picked from
        the text up to its segment of n reply tokens (the prompt's own mask before the reply),
        as generation that re-picks every n tokens would run it. One dense pass gives every
        segment's GRIFFIN statistics (groups of positions); the predictor maps them."""
        T, J = len(toks), (len(toks) - start) // n + 1
        ends = mx.array([start + j * n for j in range(J)])[:, None]
        begins = mx.maximum(ends - n, 0) if window else mx.zeros_like(ends)
        begins[0] = 0  # the prompt's own mask reads the whole prompt
        pos = mx.arange(T)[None]
        groups = ((pos < ends) & (pos >= begins)).astype(mx.float32)[None]  # (1, J, T)
        z = source_pass(base, mx.array([toks], dtype=mx.int32), groups)[1][0]  # (J, L, d)
        picks = topk_indicator(src.predictor(base).from_griffin(z), k)
        seg = [max(0, p - start + 1) // n for p in range(T)]
        return picks[mx.array(seg)].transpose(1, 0, 2).astype(mx.float16)

    seen = {}
    ahead = [int(x) for x in a.lookahead.split(",") if x.strip()]
    drafts = {}  # prompt -> the source model's draft of max(ahead) tokens, for every arm and N
    # every end token, as ``greedy_tokens``: mlx-lm's eos_token_ids adds a turn's end
    stops = {getattr(tok, "eos_token_id", None)} | set(getattr(tok, "eos_token_ids", None) or ())

    def cached_scores(src, t):
        """``src.scores`` of one prompt, computed once per source and prompt."""
        if (src.key(), tuple(t)) not in seen:
            seen[src.key(), tuple(t)] = src.scores(base, mx.array(t, dtype=mx.int32))
        return seen[src.key(), tuple(t)]

    arms = {"IFP": (PredictorSource(a.run), tuned)}
    if not a.no_griffin:
        arms["GRIFFIN"] = (make_source("griffin"), base)
    for arm, (src, model) in arms.items():
        per_input = {
            d: [src.select(base, turn_tokens(tok, it["prompt"]), k) for it in items[d]]
            for d in domains
        }
        score(f"{arm} per input", model, lambda d: per_input[d])
        if a.oracle:  # the scored sequence itself: prompt + reference reply (chat template)
            seen = {d: [src.select(base, list(t), k) for t, _ in chunks[d]] for d in domains}
            score(f"{arm} oracle, prompt + reference reply", model, lambda d: seen[d])
        for n in [int(x) for x in a.reroute.split(",") if x.strip()] if arm == "IFP" else []:
            for window in (False, True) if a.reroute_window else (False,):
                what = f"last {n} tokens" if window else "prompt + reply so far"
                score(  # one domain's (L, T, d) masks at a time
                    f"{arm} re-picked every {n} reply tokens ({what})",
                    model,
                    lambda d, n=n, w=window: [rerouted(src, t, s, n, w) for t, s in chunks[d]],
                )
        for n in ahead:
            picked = {
                d: lookahead_masks(src, base, chunks[d], k, n, stops, drafts, max(ahead))
                for d in domains
            }
            score(f"{arm} one mask, prompt + {n}-token dense draft", model, lambda d: picked[d])
        if not a.no_description:
            desc = {d: src.select(base, turn_tokens(tok, text[d]), k) for d in domains}
            score(f"{arm} per task, description", model, lambda d: [desc[d]] * len(items[d]))
        for n in counts:
            prompts = {d: [turn_tokens(tok, it["prompt"]) for it in pool[d][:n]] for d in domains}
            what = f"{n} {a.examples_from}{'ation' if a.examples_from == 'valid' else ''} examples"
            for rule in a.aggregate:
                ex = {d: task_mask(src, base, prompts[d], k, rule, cached_scores) for d in domains}
                name = f"{arm} per task, {what}" + ("" if rule == "mean" else f", {rule}")
                score(name, model, lambda d: [ex[d]] * len(items[d]))
            if a.with_replies:  # the examples' own text: prompt + reference reply, templated
                seqs = {
                    d: [t for t, _ in metrics.pairs(tok, pool[d][:n], a.max_len)] for d in domains
                }
                ex = {d: src.select_examples(base, seqs[d], k) for d in domains}
                score(f"{arm} per task, {what} + replies", model, lambda d: [ex[d]] * len(items[d]))
    rows = report["rows"]
    lines = [
        "| row | "
        + " | ".join(f"NLL {d}" for d in domains)
        + " | KL mean | NLL mean | NLL vs per input |",
        "|---" * (len(domains) + 4) + "|",
    ]
    ref = {}
    for r in rows:
        arm = r["row"].split(" ")[0]
        ref.setdefault(arm, r["nll"])
        r["nll_vs_per_input"] = r["nll"] / ref[arm] - 1
        nll = " | ".join(f"{r['domains'][d]['nll']:.3f}" for d in domains)
        lines.append(
            f"| {r['row']} | {nll} | {r['kl']:.3f} | {r['nll']:.3f} | {100 * r['nll_vs_per_input']:+.1f}% |"
        )
    report["table"] = "\n".join(lines)
    print(report["table"])
    if a.output:
        with atomic_file(a.output) as tmp:
            Path(tmp).write_text(json.dumps(report, indent=2))


if __name__ == "__main__":
    exit_2_on_usage_error(main)
