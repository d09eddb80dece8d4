"""Decode speed of re-picking the mask every N reply tokens, side by side with one mask and dense.

    OPENBLAS_NUM_THREADS=2 python tools/repick_cost.py --trials 3 -o FILE

One process, the embedded model with its shipped predictor + LoRA, greedy, the same prompts for
every row; the rows alternate within each trial (forward, then backward order) so that a busy
machine slows them alike. Decode speed is mlx-lm's generation tokens per second, the re-picks'
dense passes and slices included; ``dense`` is the unpruned source (``--keep 1.0``). Prints a
table and writes JSON (medians over prompts x trials).
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import mlx_ifp

PROMPTS = (
    "What is the capital of France?",
    "Write a short poem about rain.",
    "A train travels 60 km in 45 minutes. What is its speed in km/h?",
    "Explain how photosynthesis works.",
    "Write a Python function that checks whether a string is a palindrome.",
    "Why do we have seasons?",
)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--trials", type=int, default=3)
    p.add_argument("--every", default="8,16,32", help="the N values to time (comma-separated)")
    p.add_argument("--max-tokens", type=int, default=64)
    p.add_argument("-o", "--output", help="write the JSON here")
    a = p.parse_args()
    from mlx_ifp.common import atomic_file

    rows = {"dense": {"keep": 1.0}, "one mask (prompt)": {"repick": 0}}
    for n in (int(x) for x in a.every.split(",") if x.strip()):
        rows[f"re-picked every {n}"] = {"repick": n}
    model, tok = mlx_ifp.load()
    for text in PROMPTS[:1]:  # warm-up: kernels, the LoRA'd copy, the first slices
        for kw in rows.values():
            mlx_ifp.generate(model, tok, text, max_tokens=4, **kw)
    res = {name: {"tps": [], "tokens": 0, "repicks": 0, "repick_s": 0.0, "wall_s": 0.0}
           for name in rows}  # fmt: skip
    for trial in range(a.trials):
        order = list(rows.items()) if trial % 2 == 0 else list(rows.items())[::-1]
        for text in PROMPTS:
            for name, kw in order:
                t0 = time.perf_counter()
                *_, last = mlx_ifp.stream_generate(model, tok, text, a.max_tokens, **kw)
                r = res[name]
                r["wall_s"] += time.perf_counter() - t0
                r["tps"].append(last.generation_tps)
                r["tokens"] += last.generation_tokens
                if last.prune is not None and last.prune.repicks:
                    r["repicks"] += last.prune.repicks
                    r["repick_s"] += last.prune.repick_select_s + last.prune.repick_slice_s
    base = statistics.median(res["one mask (prompt)"]["tps"])
    dense = statistics.median(res["dense"]["tps"])
    lines = [
        "| row | decode tok/s (median) | vs one mask | vs dense | ms per re-pick |",
        "|---|---|---|---|---|",
    ]
    for name, r in res.items():
        med = statistics.median(r["tps"])
        r["median_tps"], r["vs_one_mask"], r["vs_dense"] = med, med / base, med / dense
        per = r["repick_s"] / r["repicks"] * 1e3 if r["repicks"] else None
        r["ms_per_repick"] = per
        lines.append(
            f"| {name} | {med:.2f} | {med / base:.2f}x | {med / dense:.2f}x | "
            + (f"{per:.0f} |" if per else "- |")
        )
    print("\n".join(lines))
    report = {"prompts": PROMPTS, "trials": a.trials, "max_tokens": a.max_tokens, "rows": res}
    if a.output:
        with atomic_file(a.output) as f:
            f.write_text(json.dumps(report, indent=1) + "\n")


if __name__ == "__main__":
    main()
