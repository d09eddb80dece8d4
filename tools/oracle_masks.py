# ruff: noqa: B023, E501
"""Hindsight masks optimised on each item's own KL: how far could any per-input choice of channels go?

    python tools/oracle_masks.py --run DIR [--static DIR] --keep 0.5 --limit 24 -o FILE

For each item the LoRA'd model (``--run``'s, and ``--static``'s for its control) is scored with
its own mask and with a mask no deployed model has: per-item channel logits, started at the
arm's own mask, optimised for ``--steps`` SGD steps on KL(dense || pruned) over the prompt and
the **first half of the reference reply**, with the training objective's mask (the hard top-k
forward, the SoftTopK gradient backward: ``hard_st``); the step whose measured KL on that half
is lowest is kept (the arm's own mask included). Every row is scored on the reply's **second
half** (the first half as context), which the fitted mask never saw (items whose reply is a
single token are skipped): what a mask that knows
the item's content could reach with this LoRA and this budget, not a predictor. ``--fit all``
fits and scores the whole reply (the mask, ~46k free bits, then partly memorises the answer).
``--choose-on held-out`` fits on the first two thirds of the first half and keeps the step
whose KL is lowest on its last third (early stopping on tokens the fit never saw).
(A first-order search was tried first and dropped: ``docs/anti_collapse.md``.)
Rows per domain and pooled, with per-item sums for ``tools/paired_ci.py``.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import mlx_ifp

from eval_ifp import DOMAINS, corpus, domain_list, domain_summary, run_args  # its folder's


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    run_args(p, "finetune output (predictor + LoRA)", 24, "items per domain")
    p.add_argument("--static", help="its learned static control (finetune output), scored alike")
    p.add_argument("--steps", type=int, default=50, help="SGD steps per item")
    p.add_argument("--lr", type=float, default=0.03, help="SGD learning rate on the logits")
    p.add_argument("--eps", type=float, default=0.05, help="SoftTopK temperature of the gradient")
    p.add_argument(
        "--fit",
        default="first-half",
        choices=("first-half", "all"),
        help="fit each mask on the reply's first half and score every row on its second half "
        "(default), or fit and score on the whole reply (a mask can then memorise the answer)",
    )
    p.add_argument(
        "--choose-on",
        default="fit",
        choices=("fit", "held-out"),
        help="keep the step with the lowest KL on the fitted tokens (default), or on the last "
        "third of the first half, held out of the fit (first-half only)",
    )
    p.add_argument("--max-len", type=int, default=320)
    p.add_argument("--split", default="valid", choices=("test", "valid"))
    p.add_argument("--domains", type=domain_list, default=DOMAINS, help="comma-separated domains")
    p.add_argument("-o", "--output", help="write the JSON here")
    return p.parse_args()


def main() -> None:
    a = parse()
    from mlx_ifp.common import atomic_file
    from mlx_ifp.core import ffn
    from mlx_ifp.core.mask import Budget
    from mlx_ifp.evaluation import metrics
    from mlx_ifp.evaluation.run import instructions
    from mlx_ifp.sources import PredictorSource
    from mlx_ifp.train.objective import make_masks

    import mlx.core as mx
    import mlx.optimizers as optim

    data = corpus(a.data)
    base, tok = mlx_ifp.load(a.model, dequantize=True)
    k = Budget.parse(a.keep).channels(ffn.d_ffn(base))
    items = {d: instructions(data, d, a.split)[: a.limit] for d in a.domains}
    chunks = {d: metrics.pairs(tok, items[d], a.max_len) for d in a.domains}
    report = {"run": a.run, "static": a.static, "keep": a.keep, "k": k, "split": a.split}
    report |= {"limit": a.limit, "steps": a.steps, "lr": a.lr, "eps": a.eps, "fit": a.fit}
    report["choose_on"] = a.choose_on
    report["data"] = data
    report["rows"] = []

    def kl_sum(model, one, dense, m):
        lp = metrics.logprobs(model, metrics.batch_of(one), m, one)
        return (mx.exp(dense) * (dense - lp)).sum()

    def optimised(model, one, dense, own, pick=None):
        """The hard mask with the lowest measured KL met on the way (``own`` first): on the
        fitted tokens, or on ``pick`` = (chunk, dense log-probs) when given."""
        z = (own * 2.0 - 1.0) * 2 * a.eps  # top k is ``own``; SoftTopK not saturated
        opt = optim.SGD(learning_rate=a.lr)  # Adam moves every logit alike: thousands flip at once

        def loss(z):
            return kl_sum(model, one, dense, make_masks(z, k, a.eps, "hard_st", False))

        step = mx.value_and_grad(loss)
        best, best_kl = own, float("inf")
        for _ in range(a.steps + 1):  # each step's loss is its hard mask's KL
            kl, g = step(z)
            hard = make_masks(z, k, a.eps, "hard_st", True)
            kl = kl if pick is None else kl_sum(model, pick[0], pick[1], hard)
            if kl.item() < best_kl:
                best, best_kl = hard, kl.item()
            z = opt.apply_gradients({"z": g}, {"z": z})["z"]
            mx.eval(z, opt.state)
        return best

    def rows_for(arm, run):
        src = PredictorSource(run)
        model = mlx_ifp.load(a.model, dequantize=True, adapter_path=run)[0]
        names = [f"{arm} per input", f"{arm}, mask optimised on the item (hindsight)"]
        per = {n: {} for n in names}
        t0 = time.perf_counter()
        for d in a.domains:
            got = {n: [] for n in names}
            for i, (toks, s) in enumerate(chunks[d]):
                h = s + (len(toks) - s) // 2 if a.fit == "first-half" else s
                if h == s and a.fit == "first-half":  # a 1-token reply has no unseen half
                    print(f"{arm} {d} {i + 1}: reply too short, skipped", file=sys.stderr)
                    continue
                held = a.choose_on == "held-out" and h - s >= 3
                h1 = s + 2 * (h - s) // 3 if held else h  # the fit's end; [h1, h) chooses
                fit, one = [(toks[:h1] if h1 > s else toks, s)], [(toks, h)]
                whole = [(toks, s)]  # one dense pass: row j predicts reply token s + j
                dense_all = metrics.logprobs(base, metrics.batch_of(whole), None, whole)
                dense_fit = dense_all[: h1 - s] if h1 > s else dense_all
                dense = dense_all[h - s :]
                pick = ([(toks[:h], h1)], dense_all[h1 - s : h - s]) if held else None
                own = src.select(base, toks[:s], k).dense()[None].astype(mx.float32)
                best = optimised(model, fit, dense_fit, own, pick)
                for n, m in zip(names, (own, best), strict=True):
                    lp = metrics.logprobs(model, metrics.batch_of(one), m, one)
                    got[n] += metrics.token_metrics(dense, lp, one)
                took = time.perf_counter() - t0
                print(f"{arm} {d} {i + 1}/{len(chunks[d])} {took:.0f} s", file=sys.stderr)
            for n in names:
                per[n][d] = domain_summary(got[n])
        for n in names:
            row = {"row": n, "domains": per[n]}
            for key in ("kl", "nll"):
                row[key] = sum(per[n][d][key] for d in a.domains) / len(a.domains)
            report["rows"].append(row)
            print(f"{n:<56} KL {row['kl']:.3f}  NLL {row['nll']:.3f}", file=sys.stderr)
        write()  # after each arm: a run cut short keeps what it finished

    def write():
        if a.output:
            with atomic_file(a.output) as tmp:
                Path(tmp).write_text(json.dumps(report, indent=1))

    rows_for("IFP", a.run)
    if a.static:
        rows_for("learned static", a.static)
    head = "| row | " + " | ".join(f"KL {d}" for d in a.domains) + " | KL mean | NLL mean |"
    lines = [head, "|---" * (len(a.domains) + 3) + "|"]
    for r in report["rows"]:
        cells = " | ".join(f"{r['domains'][d]['kl']:.3f}" for d in a.domains)
        lines.append(f"| {r['row']} | {cells} | {r['kl']:.3f} | {r['nll']:.3f} |")
    report["table"] = "\n".join(lines)
    print(report["table"])
    write()


if __name__ == "__main__":
    main()
