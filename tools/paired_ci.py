"""Paired bootstrap confidence intervals of the per-domain KL / NLL difference of two rows.

    python tools/paired_ci.py REPORT.json "IFP (rw25) per input" "learned static + same LoRA"

REPORT.json is a ``tools/eval_ifp.py`` or ``tools/eval_task_masks.py`` report whose rows
carry per-item sums (``items``), or a ``tools/eval_prefill_modes.py`` report, whose rows are
its prefill modes (``slim``, ``dense-lora``, ``dense-source``). ``--b-report`` takes row B
from another report on the same items (two runs scored by the same tool). Both rows score the
same test items, so items are resampled in pairs; each resample's difference is the
token-weighted mean of row A minus row B (what the tables report). Prints a table and, with
``-o``, writes JSON.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path


def parse() -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("report", help="an eval_ifp / eval_task_masks JSON report with per-item sums")
    p.add_argument("a", help="row A (its 'row' name)")
    p.add_argument("b", help="row B, the reference")
    p.add_argument("--b-report", help="read row B from this report (default: REPORT)")
    p.add_argument("--resamples", type=int, default=10000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("-o", "--output", help="write the JSON here")
    return p.parse_args()


def load_rows(path: Path) -> dict[str, dict]:
    """A report's rows by name, each ``{"domains": {domain: {"items": [...]}}}``."""
    rep = json.loads(path.read_text())
    rows = rep["rows"]
    if not rows or "prefill" not in rows[0]:
        return {r["row"]: r for r in rows}
    # eval_prefill_modes: one row per (domain, prefill); the per-item sums, in domain order
    counts: dict[str, int] = {}
    for r in rows:
        if r["domain"] != "all":
            counts.setdefault(r["domain"], r["n"])
    out: dict[str, dict] = {}
    at = 0
    for d, n in counts.items():
        chunk, at = rep["items"][at : at + n], at + n
        for mode in chunk[0] if chunk else ():
            row = out.setdefault(mode, {"row": mode, "domains": {}})
            row["domains"][d] = {"items": [it[mode] for it in chunk]}
    return out


def interval(a: list[dict], b: list[dict], key: str, resamples: int, rng) -> dict:
    """The observed difference of ``key`` (token-weighted mean, row A minus row B), its 95%
    percentile interval, and P(resampled diff >= 0): ``mlx_ifp.evaluation.metrics``'s
    ``paired_interval`` over ``draws`` of ``rng`` (what ``mlx_ifp eval`` reports as ``paired``)."""
    from mlx_ifp.evaluation.metrics import draws, paired_interval

    picks = draws(len(a), resamples, rng)
    tokens = [x["tokens"] for x in a]
    return paired_interval([x[key] for x in a], [y[key] for y in b], tokens, picks)


def main() -> int:
    a = parse()
    path = Path(a.report)
    if not path.is_file():
        print(f"error: no report at {path}", file=sys.stderr)
        return 2
    path_b = Path(a.b_report) if a.b_report else path
    if not path_b.is_file():
        print(f"error: no report at {path_b}", file=sys.stderr)
        return 2
    found = {}
    for name, where in ((a.a, path), (a.b, path_b)):
        rows = load_rows(where)
        if name not in rows:
            print(f"error: no row {name!r} in {where} (rows: {', '.join(rows)})", file=sys.stderr)
            return 2
        found[name, where] = rows[name]
    ra, rb = found[a.a, path]["domains"], found[a.b, path_b]["domains"]
    if any("items" not in ra[d] or "items" not in rb[d] for d in ra):
        print(f"error: {path} has no per-item sums (rerun tools/eval_ifp.py)", file=sys.stderr)
        return 2
    rng = random.Random(a.seed)
    out = {"report": str(path), "a": a.a, "b": a.b, "resamples": a.resamples, "domains": {}}
    if a.b_report:
        out["b_report"] = str(path_b)
    pooled_a, pooled_b = [], []
    for d in ra:
        ia, ib = ra[d]["items"], rb[d]["items"]
        if [x["tokens"] for x in ia] != [y["tokens"] for y in ib]:
            print(f"error: rows score different items in {d}", file=sys.stderr)
            return 2
        out["domains"][d] = {k: interval(ia, ib, k, a.resamples, rng) for k in ("kl", "nll")}
        pooled_a += ia
        pooled_b += ib
    out["domains"]["all (token-weighted)"] = {
        k: interval(pooled_a, pooled_b, k, a.resamples, rng) for k in ("kl", "nll")
    }
    lines = [
        f"{a.a} minus {a.b}: difference per reference token, 95% paired bootstrap "
        f"interval ({a.resamples} resamples of the items)",
        "",
        "| domain | Δ KL | 95% interval | Δ NLL | 95% interval |",
        "|---|---|---|---|---|",
    ]
    for d, v in out["domains"].items():
        kl, nll = v["kl"], v["nll"]
        lines.append(f"| {d} | {kl['diff']:+.4f} | [{kl['lo']:+.4f}, {kl['hi']:+.4f}] | "
                     f"{nll['diff']:+.4f} | [{nll['lo']:+.4f}, {nll['hi']:+.4f}] |")  # fmt: skip
    print("\n".join(lines))
    if a.output:
        from mlx_ifp.common import atomic_file

        with atomic_file(Path(a.output)) as tmp:
            tmp.write_text(json.dumps(out, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
