"""Print the probe's table (KL to dense per domain, the four-domain mean) from its JSON reports.

python docs/results/probe5/render.py            # probe5_fair.json + probe5_tasks.json here
python docs/results/probe5/render.py --all      # also the reports' other rows
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
    ("learned static + same LoRA (`staticw3`)", "fair", "learned static + same LoRA"),
    ("dense + shipped LoRA, unpruned (keep 1.0)", "fair", "dense + LoRA (rw25w3 arm), unpruned"),
    ("shipped predictor, one mask per prompt", "fair", "IFP (rw25w3) per input"),
    (
        "shipped predictor, re-picked every 16 reply tokens",
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
    p.add_argument("--fair", default=str(HERE / "probe5_fair.json"), help="eval_ifp.py report")
    p.add_argument("--tasks", default=str(HERE / "probe5_tasks.json"), help="eval_task_masks")
    p.add_argument("--all", action="store_true", help="also every other row of both reports")
    a = p.parse_args()
    paths = {"fair": a.fair, "tasks": a.tasks}
    reports = {k: json.loads(Path(v).read_text()) for k, v in paths.items()}
    rows = {k: {r["row"]: r for r in rep["rows"]} for k, rep in reports.items()}
    head = " | ".join(DOMAINS.values())
    print(f"| row (keep 0.5 unless said; KL to dense) | {head} | mean of 4 | NLL | top-1 |")
    print("|---|" + "---|" * (len(DOMAINS) + 3))
    shown = set()
    for label, rep, name in ROWS:
        print(line(label, rows[rep][name]))
        shown.add((rep, name))
    if a.all:
        for rep, named in rows.items():
            for name, row in named.items():
                if (rep, name) not in shown:
                    print(line(f"{name} ({rep})", row))


if __name__ == "__main__":
    main()
