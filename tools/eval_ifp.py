# ruff: noqa: B023, E501
"""The fair comparison of a trained predictor against learned static and training-free pruning.

On the test splits, against learned static pruning and training-free sources: KL to the original
dense model, NLL, top-1, mask-swap ablation, mask overlap, GSM8K / HumanEval on a few items;
JSON and a table.

    python tools/eval_ifp.py --runs runs/default --keep 0.5 -o docs/results/ifp_eval.json

``--runs`` holds ``k<keep>-<arm>/stage2`` for each ``--arms`` and the ``static`` control
(tools/train_default.sh).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from functools import partial
from pathlib import Path

import mlx_ifp

DOMAINS = ("math", "code", "science", "prose")  # the default of --domains


def domain_list(text: str) -> tuple[str, ...]:
    """``--domains``: comma-separated domain names (also eval_task_masks.py's)."""
    return tuple(x.strip() for x in text.split(",") if x.strip())


def run_args(p: argparse.ArgumentParser, run_help: str, limit: int, limit_help: str) -> None:
    """``--run``, ``--data``, ``--model``, ``--keep``, ``--limit``: a one-run tool's arguments
    (eval_task_masks.py, oracle_masks.py)."""
    p.add_argument("--run", required=True, help=run_help)
    p.add_argument("--data", help="corpus folder (default: the cached build)")
    p.add_argument("--model", default="smollm2-135m-instruct")
    p.add_argument("--keep", default="0.5")
    p.add_argument("--limit", type=int, default=limit, help=limit_help)


def corpus(folder: str | None) -> str:
    """``--data``, or the cached corpus build."""
    from mlx_ifp.data import cached_build

    return folder or str(cached_build())


def domain_summary(per_item: list[dict]) -> dict:
    """``metrics.summarise`` plus each item's sums over its reference tokens (for paired tests,
    tools/paired_ci.py)."""
    from mlx_ifp.evaluation import metrics

    out = metrics.summarise(per_item)
    out["items"] = [
        {"tokens": r["tokens"], "nll": round(r["nll"], 5), "kl": round(r["kl"], 5)}
        for r in per_item
    ]
    return out


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--runs", help="folder of tools/train_default.sh runs")
    p.add_argument("--render", nargs="+", help="print the tables of saved -o reports and exit")
    p.add_argument("--data", help="corpus folder (default: the cached build)")
    p.add_argument("--model", default="smollm2-135m-instruct")
    p.add_argument("--keep", default="0.5", help="comma-separated keeps with trained runs")
    p.add_argument("--limit", type=int, default=24, help="test items per domain")
    p.add_argument(
        "--split", default="test", choices=("test", "valid"), help="valid: to choose, not to report"
    )
    p.add_argument(
        "--choose",
        action="store_true",
        help="only the rows a choice needs: dense, the static control, each arm per input",
    )
    p.add_argument("--gen-limit", type=int, default=6, help="GSM8K/HumanEval items (0: none)")
    p.add_argument("--max-len", type=int, default=320)
    p.add_argument(
        "--batch",
        type=int,
        default=0,
        help="items scored at once, the dense pass redone per batch (bounded memory; 0: a "
        "domain at once, its dense log-probabilities kept: fast, ~0.1 GB per item)",
    )
    p.add_argument("--dtype", help="float32, float16 or bfloat16 (default: load's)")
    p.add_argument("--max-tokens", type=int, default=200)
    p.add_argument("--stage", default="stage2", help="which run folder to evaluate")
    p.add_argument(
        "--arms", default="predictor", help="comma-separated predictor runs (k<keep>-<arm>)"
    )
    p.add_argument(
        "--domains",
        type=domain_list,
        default=DOMAINS,
        help="comma-separated domains (default: the four of the earlier reports)",
    )
    p.add_argument("-o", "--output", help="write the JSON here")
    a = p.parse_args()
    if not a.runs and not a.render:
        p.error("--runs is required (or --render REPORT.json)")
    return a


def other_domains(masks: dict, d: str) -> list:
    """For each item of domain ``d``, the mask of the same-index item of the next domain."""
    order = list(masks)  # the report's domains, in order
    other = masks[order[(order.index(d) + 1) % len(order)]]
    return [other[j % len(other)] for j in range(len(masks[d]))]


def render(rows: list) -> str:
    """Two markdown tables of the rows: KL per domain, then NLL / top-1 per domain and the
    generation scores (GSM8K exact match, HumanEval pass@1; "-" where not run)."""
    cell = lambda v: "-" if v is None else f"{v:.2f}"  # noqa: E731
    domains = tuple(rows[0]["domains"])  # a saved report's own domains
    kl = ["| row | keep | active | " + " | ".join(f"KL {d}" for d in domains) + " | KL mean |"]
    kl.append("|" + "---|" * (4 + len(domains)))
    nll = ["| row | " + " | ".join(f"NLL {d}" for d in domains) + " | NLL mean | top-1 mean |"]
    nll[0] += " GSM8K EM | HumanEval pass@1 |"
    nll.append("|" + "---|" * (5 + len(domains)))
    for r in rows:
        dom = r["domains"]
        kl.append(
            f"| {r['row']} | {r['keep']} | {r['active_params'] / 1e6:.1f}M | "
            + " | ".join(f"{dom[d]['kl']:.3f}" for d in domains)
            + f" | {r['kl']:.3f} |"
        )
        top1 = sum(dom[d]["top1"] for d in domains) / len(domains)
        gen = [dom.get("math", {}).get("exact_match"), dom.get("code", {}).get("pass@1")]
        nll.append(
            f"| {r['row']} | "
            + " | ".join(f"{dom[d]['nll']:.3f}" for d in domains)
            + f" | {r['nll']:.3f} | {top1:.3f} | {cell(gen[0])} | {cell(gen[1])} |"
        )
    return "\n".join(kl) + "\n\n" + "\n".join(nll)


def main() -> None:
    a = parse()
    domains = a.domains
    if a.render:  # the tables of saved reports, no model
        for path in a.render:
            print(render(json.loads(Path(path).read_text())["rows"]) + "\n")
        return
    from mlx_ifp.common import atomic_file
    from mlx_ifp.core import ffn
    from mlx_ifp.core.mask import Budget
    from mlx_ifp.core.prompt import turn_tokens
    from mlx_ifp.data import tasks
    from mlx_ifp.evaluation import metrics
    from mlx_ifp.evaluation.run import generate_replies, instructions, scoreable
    from mlx_ifp.evaluation.sandbox import score_replies
    from mlx_ifp.sources import PredictorSource, make_source
    from mlx_ifp.train.diversity import diversity

    import mlx.core as mx

    data = corpus(a.data)
    load = partial(mlx_ifp.load, a.model, dequantize=True, dtype=a.dtype)
    base, tok = load()
    d_ffn = base.layers[0].mlp.gate_proj.weight.shape[0]
    task_text = tasks(data)
    items = {d: instructions(data, d, a.split)[: a.limit] for d in domains}
    chunks = {d: metrics.pairs(tok, items[d], a.max_len) for d in domains}
    n = a.batch or max(map(len, chunks.values()), default=1)
    pieces = {d: [slice(i, i + n) for i in range(0, len(chunks[d]), n)] for d in domains}

    kept = {}

    def dense(d, part):  # kept when a domain is one batch (the earlier tables' way)
        if d not in kept or a.batch:
            kept[d] = metrics.logprobs(
                base, metrics.batch_of(chunks[d][part]), None, chunks[d][part]
            )
        return kept[d]

    report = {
        "model": a.model,
        "data": data,
        "split": a.split,
        "limit": a.limit,
        "rows": [],
        "overlap": {},
    }

    def score(name, keep, model, masks_of, gen=False):
        """One row: per domain, the metrics of ``model`` under ``masks_of(domain) -> [Mask]``."""
        t0 = time.perf_counter()
        row = {"row": name, "keep": keep, "domains": {}}
        for d in domains:
            masks = masks_of(d)
            per_item = []
            for part in pieces[d]:
                c = chunks[d][part]
                m = None if masks is None else mx.stack([x.dense() for x in masks[part]])
                lp = metrics.logprobs(model, metrics.batch_of(c), m, c)
                per_item += metrics.token_metrics(dense(d, part), lp, c)
            row["domains"][d] = domain_summary(per_item)
            if gen and a.gen_limit and d in ("math", "code"):
                its = scoreable(items[d], d, a.gen_limit)
                ms = masks[: len(its)] if masks is not None else [full] * len(its)
                if masks is not None and len(masks) == len(items[d]):
                    ms = [masks[items[d].index(it)] for it in its]
                replies = generate_replies(model, tok, its, ms, a.max_tokens)
                row["domains"][d].update(score_replies(d, its, replies, 5.0))
        one = (masks_of(domains[0]) or [full])[0]
        slim = mlx_ifp.prune(model, one)
        row["active_params"] = ffn.count(slim)["params"]
        row["kl"] = sum(row["domains"][d]["kl"] for d in domains) / len(domains)
        row["nll"] = sum(row["domains"][d]["nll"] for d in domains) / len(domains)
        row["seconds"] = round(time.perf_counter() - t0, 1)
        report["rows"].append(row)
        print(
            f"{name:<34} keep {keep:<5} KL {row['kl']:.3f}  NLL {row['nll']:.3f}", file=sys.stderr
        )

    full = mlx_ifp.Mask.full(base)
    score("dense", 1.0, base, lambda d: None, gen=True)
    for keep in [k.strip() for k in a.keep.split(",") if k.strip()]:
        k = Budget.parse(keep).channels(d_ffn)
        names = () if a.choose else ("griffin", "static-act", "random")
        sources = {n: make_source(n, tokenizer=tok) for n in names}
        per_input = {}
        for n, src in sources.items():
            cache = {
                d: [src.select(base, turn_tokens(tok, it["prompt"]), k) for it in items[d]]
                for d in domains
            }
            per_input[n] = cache
            score(n, keep, base, lambda d, c=cache: c[d], gen=n == "griffin")
        swap = other_domains  # each item scored with the mask of another domain's item
        overlaps = {}
        if not a.choose:
            score(
                "GRIFFIN, mask of another domain's item",
                keep,
                base,
                lambda d: swap(per_input["griffin"], d),
            )
            overlaps["GRIFFIN"] = per_input["griffin"]
        arms = [x.strip() for x in a.arms.split(",") if x.strip()]
        runs = {arm: Path(a.runs) / f"k{keep}-{arm}" / a.stage for arm in [*arms, "static"]}
        for r in runs.values():  # (a missing folder's rows were left out without a word)
            if not (r / "predictor.safetensors").is_file():
                print(f"warning: no trained run in {r}: its rows are left out", file=sys.stderr)
        runs = {arm: r for arm, r in runs.items() if (r / "predictor.safetensors").is_file()}
        if "static" in runs:
            tuned = load(adapter_path=str(runs["static"]))[0]
            stat = PredictorSource(runs["static"]).select(base, turn_tokens(tok, "x"), k)
            score(
                "learned static + same LoRA",
                keep,
                tuned,
                lambda d: [stat] * len(items[d]),
                gen=True,
            )
        for arm in [x for x in arms if x in runs]:
            tuned = load(adapter_path=str(runs[arm]))[0]
            if not a.choose:
                score(f"dense + LoRA ({arm} arm), unpruned", 1.0, tuned, lambda d: None)
            pred = PredictorSource(runs[arm])
            ifp = {
                d: [pred.select(base, turn_tokens(tok, it["prompt"]), k) for it in items[d]]
                for d in domains
            }
            score(f"IFP ({arm}) per input", keep, tuned, lambda d: ifp[d], gen=True)
            overlaps[f"IFP ({arm})"] = ifp
            if a.choose:
                continue
            per_task = {
                d: [pred.select(base, turn_tokens(tok, task_text[d]), k)] * len(items[d])
                for d in domains
            }
            score(f"IFP ({arm}) per task", keep, tuned, lambda d: per_task[d])
            score(
                f"IFP ({arm}), mask of another domain's item", keep, tuned, lambda d: swap(ifp, d)
            )
        for name, masks in overlaps.items():
            dom = [d for d in domains for _ in masks[d]]
            hard = [m.dense() for d in domains for m in masks[d]]
            report["overlap"][f"{name} keep {keep}"] = diversity(hard, hard, dom)
    report["table"] = render(report["rows"])
    print(report["table"])
    for name, ov in report["overlap"].items():
        print(
            f"{name}: Jaccard within {ov['jaccard_within']:.3f}, across {ov['jaccard_across']:.3f}"
        )
    if a.output:
        with atomic_file(a.output) as tmp:
            Path(tmp).write_text(json.dumps(report, indent=2))


def exit_2_on_usage_error(main) -> None:
    """Run ``main``: bad input (several cached corpora, ...) is one line on stderr, exit 2
    (eval_task_masks.py's and side_by_side.py's too)."""
    from mlx_ifp.common import UsageError

    try:
        main()
    except UsageError as e:
        print(f"error: {e}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    exit_2_on_usage_error(main)
