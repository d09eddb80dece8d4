"""Time to first token of the default (shipped predictor + LoRA) with a slim vs a dense prefill.

Interleaved trials in one process, the mask a cache hit after the first call of each prompt, so
the difference is the prompt's pass alone: slim model over the prompt, or the LoRA'd model at
full width over it and one slim step. Prints JSON and a table.

    OPENBLAS_NUM_THREADS=1 python tools/prefill_ttft.py --trials 7 \
        -o docs/results/prefill_modes/ttft_cpu.json
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import mlx_ifp
from mlx_ifp.common import atomic_file
from mlx_ifp.core.prompt import encode, format_chat, messages_for

PROMPTS = {
    "short": "What is the capital of France?",
    "long": "Explain, step by step and with a worked example, how a hash table resolves "
    "collisions with open addressing and with separate chaining, and when each is faster. " * 4,
}


def first_token_s(model, tok, prompt: str, prefill: str) -> float:
    t0 = time.perf_counter()
    for _ in mlx_ifp.stream_generate(model, tok, prompt, 1, prefill=prefill):
        break
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--trials", type=int, default=7)
    ap.add_argument("-o", "--output", help="write the JSON here")
    args = ap.parse_args()
    model, tok = mlx_ifp.load()
    out = {"trials": args.trials, "rows": []}
    for name, prompt in PROMPTS.items():
        n = len(encode(tok, format_chat(tok, messages_for(prompt))))
        for how in ("slim", "dense"):  # warm: the mask, the slim model, the kernels
            first_token_s(model, tok, prompt, how)
        times: dict[str, list[float]] = {"slim": [], "dense": []}
        for _ in range(args.trials):
            for how in times:
                times[how].append(first_token_s(model, tok, prompt, how))
        for how, ts in times.items():
            out["rows"].append(
                {
                    "prompt": name,
                    "tokens": n,
                    "prefill": how,
                    "median_ms": 1e3 * statistics.median(ts),
                    "min_ms": 1e3 * min(ts),
                    "max_ms": 1e3 * max(ts),
                }
            )
    print(json.dumps(out, indent=1))
    print(f"\n{'prompt':6} {'tokens':>6} {'prefill':7} {'median ms':>9} {'min':>7} {'max':>7}")
    for r in out["rows"]:
        print(
            f"{r['prompt']:6} {r['tokens']:6d} {r['prefill']:7} {r['median_ms']:9.1f} "
            f"{r['min_ms']:7.1f} {r['max_ms']:7.1f}"
        )
    if args.output:
        with atomic_file(args.output) as tmp:
            tmp.write_text(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
