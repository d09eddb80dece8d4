"""Do greedy replies end, and do they loop? The shipped predictors, slim against dense prefill.

    python docs/results/prefill_ended/ended_prefill.py [-n 12] [--max-tokens 256]
        [--keep 0.5 0.33] -o OUT.json

Prompts: the sixth chat set's validation prompts (held-out forms, never trained on) whose dense
greedy reply ended within 128 tokens, the first N per group. Each is answered greedily by the
default `Pruner` (the shipped predictor for the budget, re-picked as `generate` runs it) with
`prefill="slim"` and `prefill="dense"`. A reply *ends* when it stops on its own within
`--max-tokens`; it *loops* when one of its token 8-grams occurs three times or more.
"""

import argparse
import gzip
import json
import os
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
VALID = HERE.parent / "train_chat6/answers/valid.jsonl.gz"
GROUPS = ("math", "code", "knowledge", "writing")


def loops(tokens: list[int], n: int = 8, times: int = 3) -> bool:
    """Whether some n-gram of ``tokens`` occurs ``times`` times or more."""
    grams = Counter(tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1))
    return any(c >= times for c in grams.values())


def prompts(n: int) -> list[dict]:
    rows = [json.loads(line) for line in gzip.open(VALID)]
    ended = [r for r in rows if not r.get("truncated")]
    return [r for g in GROUPS for r in [x for x in ended if x["group"] == g][:n]]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=12, help="prompts per group (12)")
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--keep", type=float, nargs="+", default=[0.5, 0.33])
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    import mlx_ifp

    model, tok = mlx_ifp.load()
    rows = prompts(args.n)
    first = {"group": "readme", "prompt": "What is the capital of France?"}
    out = {"prompts": len(rows), "max_tokens": args.max_tokens, "arms": {}}
    for keep in args.keep:
        pruner = mlx_ifp.Pruner(model, tok, keep=keep)
        for mode in ("slim", "dense"):
            name, seen = f"keep{keep}_{mode}", []
            for r in [first, *rows]:
                t0, toks = time.perf_counter(), []
                for resp in mlx_ifp.stream_generate(
                    model, tok, r["prompt"], args.max_tokens, pruner=pruner, prefill=mode
                ):
                    toks.append(resp.token)
                row = {
                    "group": r["group"],
                    "tokens": len(toks),
                    "ended": resp.finish_reason == "stop",
                    "loops": loops(toks),
                    "s": round(time.perf_counter() - t0, 2),
                    "text": tok.decode(toks)[:400],
                }
                seen.append(row)
                print(name, row["group"], row["tokens"], row["ended"], row["loops"], flush=True)
            out["arms"][name] = {**counts(seen[1:]), "readme_first_prompt": seen[0]}
            write(out, args.output)
    table(out)


def counts(replies: list[dict]) -> dict:
    """An arm's counts over its graded replies (the replies last)."""
    return {
        "ended": sum(x["ended"] for x in replies),
        "loops": sum(x["loops"] for x in replies),
        "ended_by_group": {g: sum(x["ended"] for x in replies if x["group"] == g) for g in GROUPS},
        "mean_tokens": round(sum(x["tokens"] for x in replies) / len(replies), 1),
        "replies": replies,
    }


def write(out: dict, path: str) -> None:
    """``out`` as JSON at ``path``, whole (a temporary name, then renamed)."""
    tmp = Path(path).with_suffix(".tmp")
    tmp.write_text(json.dumps(out, indent=1))
    os.replace(tmp, path)


def table(out: dict) -> None:
    print(f"{'arm':18} {'ended':>6} {'loops':>6} {'mean tokens':>12}")
    for name, a in out["arms"].items():
        print(f"{name:18} {a['ended']:>6} {a['loops']:>6} {a['mean_tokens']:>12}")


if __name__ == "__main__":
    main()
