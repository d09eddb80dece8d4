"""The probe's table: KL to dense per domain and the four-domain mean of the rows that matter,
each with a 95% bootstrap interval of that mean (the items of each domain resampled; a
domain's KL per reference token, as the tools report it; then the mean of the four).

    python docs/results/probe4/render.py   # reads the JSON reports next to it
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOMAINS = ("math", "code", "general", "prose")
ROWS = [  # (label, report, row name)
    ("GRIFFIN", "probe4_tasks.json", "GRIFFIN per input"),
    ("learned static + same LoRA (`static.w3`)", "probe4_fair.json", "learned static + same LoRA"),
    ("dense + LoRA (`rw25.w3`), unpruned (keep 1.0)", "probe4_lora_unpruned.json", "IFP per input"),
    (
        "shipped predictor (`rw25.w3`), one mask per prompt",
        "probe4_fair.json",
        "IFP (rw25w3) per input",
    ),
    (
        "shipped predictor, re-picked every 16 tokens (`generate`'s default)",
        "probe4_tasks.json",
        "IFP re-picked every 16 reply tokens (prompt + reply so far)",
    ),
    (
        "shipped predictor, per task (one-line description)",
        "probe4_tasks.json",
        "IFP per task, description",
    ),
]


def kl(items: list[dict]) -> float:
    return sum(i["kl"] for i in items) / sum(i["tokens"] for i in items)


def interval(domains: dict, n: int = 10000, seed: int = 0) -> tuple[float, float]:
    """95% bootstrap interval of the mean over the domains of each domain's KL per token."""
    rng, means = random.Random(seed), []
    for _ in range(n):
        per = [kl(rng.choices(domains[d]["items"], k=len(domains[d]["items"]))) for d in DOMAINS]
        means.append(sum(per) / len(per))
    means.sort()
    return means[int(0.025 * n)], means[int(0.975 * n) - 1]


def main() -> None:
    head = "| row (keep 0.5, 12 prompts per domain, CPU) | " + " | ".join(DOMAINS)
    print(head + " | four-domain mean | 95% interval |")
    print("|---" * (len(DOMAINS) + 3) + "|")
    for label, report, name in ROWS:
        path = HERE / report
        if not path.is_file():
            continue
        row = next(r for r in json.loads(path.read_text())["rows"] if r["row"] == name)
        dom = row["domains"]
        per = [dom[d]["kl"] for d in DOMAINS]
        lo, hi = interval(dom)
        cells = " | ".join(f"{v:.3f}" for v in per)
        print(f"| {label} | {cells} | **{sum(per) / 4:.3f}** | [{lo:.3f}, {hi:.3f}] |")


if __name__ == "__main__":
    main()
