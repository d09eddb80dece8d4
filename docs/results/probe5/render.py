"""Print the probe's table (KL to dense per domain, the four-domain mean) from its JSON reports.

python docs/results/probe5/render.py            # probe5_fair.json + probe5_tasks.json here
python docs/results/probe5/render.py --all      # also the reports' other rows
python docs/results/probe5/render.py --arm c4    # rw25.c4's reports (probe5_*_c4.json)
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOMAINS = {"math": "math", "code": "code", "general": "general", "prose": "writing"}
#: (label, report, row name): the rows the README reports, in its order
ROWS = (
    ("dense (keep 1.0)", "fair", "dense"),
    ("GRIFFIN", "fair", "griffin"),
    ("learned static + same LoRA (`static{arm}`)", "fair", "learned static + same LoRA"),
    ("dense + its LoRA, unpruned (keep 1.0)", "fair", "dense + LoRA (rw25{arm} arm), unpruned"),
    ("predictor (`rw25.{arm}`), one mask per prompt", "fair", "IFP (rw25{arm}) per input"),
    (
        "predictor (`rw25.{arm}`), re-picked every 16 reply tokens",
        "tasks",
        "IFP re-picked every 16 reply tokens (prompt + reply so far)",
    ),
)


def line(label: str, row: dict) -> str:
    doms = row["domains"]
    kl = [doms[d]["kl"] for d in DOMAINS]
    mean = lambda k: sum(doms[d][k] for d in DOMAINS) / len(DOMAINS)  # noqa: E731
    top1 = f"{mean('top1'):.3f}" if all("top1" in doms[d] for d in DOMAINS) else "-"
    cells = " | ".join(f"{x:.3f}" for x in kl)
    return f"| {label} | {cells} | **{sum(kl) / len(kl):.3f}** | {mean('nll'):.3f} | {top1} |"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--arm", default="w3", help="the run: w3 (rw25.w3) or c4 (rw25.c4)")
    p.add_argument("--fair", help="eval_ifp.py report (default: probe5_fair[_ARM].json here)")
    p.add_argument("--tasks", help="eval_task_masks report (default: probe5_tasks[_ARM].json)")
    p.add_argument("--all", action="store_true", help="also every other row of both reports")
    a = p.parse_args()
    tail = "" if a.arm == "w3" else f"_{a.arm}"
    paths = {k: getattr(a, k) or str(HERE / f"probe5_{k}{tail}.json") for k in ("fair", "tasks")}
    reports = {k: json.loads(Path(v).read_text()) for k, v in paths.items()}
    rows = {k: {r["row"]: r for r in rep["rows"]} for k, rep in reports.items()}
    head = " | ".join(DOMAINS.values())
    print(f"| row (keep 0.5 unless said; KL to dense) | {head} | mean of 4 | NLL | top-1 |")
    print("|---|" + "---|" * (len(DOMAINS) + 3))
    shown = set()
    for label, rep, name in ROWS:
        label, name = label.format(arm=a.arm), name.format(arm=a.arm)
        print(line(label, rows[rep][name]))
        shown.add((rep, name))
    if a.all:
        for rep, named in rows.items():
            for name, row in named.items():
                if (rep, name) not in shown:
                    print(line(f"{name} ({rep})", row))


if __name__ == "__main__":
    main()
