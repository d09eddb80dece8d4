"""Merge the per-domain validation reports of ``tools/eval_task_masks.py --aggregate`` into one,
and apply the decision rule written before the measurement (README.md, "Plan").

    python docs/results/task_aggregation/decide.py valid_general.json valid_math.json ... \
        -o valid_holdout.json --decision decision.json

Per domain: each row's relative NLL gap to per input; the mean gap over domains; paired 95%
bootstrap intervals (tools/paired_ci.py's, 10000 resamples, seed 0) of each candidate's NLL
minus today's mean rule at the same count, and of each row minus per input.
"""

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[3] / "tools"))
from paired_ci import interval  # noqa: E402

PER_INPUT = "IFP per input"
MEAN = "IFP per task, {n} validation examples"
TIE = 0.001  # a mean gap lower by less than 0.1 percentage point is a tie (the plan)


def merge(paths: list[str]) -> dict:
    """One report whose rows hold every input report's domains (the same rows in each)."""
    reports = [json.loads(Path(p).read_text()) for p in paths]
    out = {k: v for k, v in reports[0].items() if k not in ("rows", "table")}
    out["merged_from"] = [Path(p).name for p in paths]
    rows = {r["row"]: {"row": r["row"], "domains": {}} for r in reports[0]["rows"]}
    for rep in reports:
        for r in rep["rows"]:
            rows[r["row"]]["domains"].update(r["domains"])
    out["rows"] = list(rows.values())
    return out


def gaps(report: dict) -> dict:
    """Per row: each domain's relative NLL gap to per input, and their mean over domains."""
    rows = {r["row"]: r for r in report["rows"]}
    ref = rows[PER_INPUT]["domains"]
    out = {}
    for name, r in rows.items():
        g = {d: r["domains"][d]["nll"] / ref[d]["nll"] - 1 for d in ref}
        out[name] = {"domains": g, "mean": sum(g.values()) / len(g)}
    return out


def paired(report: dict, a: str, b: str) -> dict:
    """NLL (row a minus row b) per domain and pooled: diff and 95% interval."""
    rows = {r["row"]: r["domains"] for r in report["rows"]}
    rng, out, pa, pb = random.Random(0), {}, [], []
    for d in rows[b]:
        ia, ib = rows[a][d]["items"], rows[b][d]["items"]
        out[d] = interval(ia, ib, "nll", 10000, rng)
        pa, pb = pa + ia, pb + ib
    out["all (token-weighted)"] = interval(pa, pb, "nll", 10000, rng)
    return out


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("reports", nargs="+")
    p.add_argument("-o", "--output", required=True)
    p.add_argument("--decision", required=True)
    a = p.parse_args()
    report = merge(a.reports)
    g = gaps(report)
    names = [r["row"] for r in report["rows"] if r["row"] != PER_INPUT]
    baseline = MEAN.format(n=16)
    dec = {"gaps": g, "vs_per_input": {}, "vs_mean": {}, "passes": {}}
    for name in names:
        dec["vs_per_input"][name] = paired(report, name, PER_INPUT)
        n = name.split(", ")[1].split(" ")[0]
        if name != MEAN.format(n=n):
            dec["vs_mean"][name] = paired(report, name, MEAN.format(n=n))
    # (d): 32 examples with the rule that did best at 16
    at16 = [x for x in names if x.startswith(baseline)]
    best16 = min(at16, key=lambda x: g[x]["mean"])
    d_row = best16.replace("16 validation", "32 validation")
    dec["best_at_16"], dec["d_row"] = best16, d_row
    dec["d_vs_16_mean"] = paired(report, d_row, baseline)
    for name in [x for x in at16 if x != baseline] + [d_row]:
        worse = [
            d
            for d, v in paired(report, name, baseline).items()
            if d != "all (token-weighted)" and v["lo"] > 0
        ]
        lower = g[name]["mean"] < g[baseline]["mean"] - TIE
        dec["passes"][name] = {"lowers_mean_gap": lower, "domains_worse": worse}
    winners = [
        x for x, v in dec["passes"].items() if v["lowers_mean_gap"] and not v["domains_worse"]
    ]
    dec["change_default_to"] = min(winners, key=lambda x: g[x]["mean"]) if winners else None
    for path, obj in ((a.output, report), (a.decision, dec)):
        tmp = Path(path).with_suffix(".tmp")
        tmp.write_text(json.dumps(obj, indent=1))
        tmp.replace(path)
    doms = list(g[PER_INPUT]["domains"])
    print("| row | " + " | ".join(doms) + " | mean gap |")
    print("|---" * (len(doms) + 2) + "|")
    for name in [PER_INPUT] + names:
        cells = " | ".join(f"{100 * g[name]['domains'][d]:+.1f}%" for d in doms)
        print(f"| {name} | {cells} | {100 * g[name]['mean']:+.2f}% |")
    pairs = [(f"{x} minus mean (same count)", v) for x, v in dec["vs_mean"].items()]
    for name, v in pairs + [(f"(d) {d_row} minus {baseline}", dec["d_vs_16_mean"])]:
        for d, x in v.items():
            print(f"{name}, {d}: {x['diff']:+.4f} [{x['lo']:+.4f}, {x['hi']:+.4f}]")
    print("passes:", json.dumps(dec["passes"]), "\nchange default to:", dec["change_default_to"])


if __name__ == "__main__":
    main()
