"""Do replies end when the source model writes their first T tokens and the pruned default the rest?

    python docs/results/dense_start/analyse.py [-t 16] [-n 12] [--max-tokens 256] -o OUT.json

The 47 prompts of `../prefill_ended/` (and the README's France prompt first, not counted): the
unpruned source's greedy first T reply tokens, then the shipped keep-0.5 default's greedy
continuation (prompt + those tokens sent as ids: its mask reads them all, re-picked every 16,
slim prefill), up to --max-tokens reply tokens in all.
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "prefill_ended"))
from ended_prefill import loops, prompts  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-t", type=int, default=16, help="reply tokens from the source (16)")
    ap.add_argument("-n", type=int, default=12, help="prompts per group (12)")
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--keep", default="0.5")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    import mlx_ifp  # first: the optimized BLAS before mlx.core

    model, tok = mlx_ifp.load()
    pruner = mlx_ifp.Pruner(model, tok, keep=args.keep)
    first = {"group": "readme", "prompt": "What is the capital of France?"}
    rows = []
    for r in [first, *prompts(args.n)]:
        t0, head, tail = time.perf_counter(), [], []
        for resp in mlx_ifp.stream_generate(model, tok, r["prompt"], args.t, keep=1.0):
            head.append(resp.token)
        ended = resp.finish_reason == "stop"
        if not ended:
            p = tok.apply_chat_template([{"role": "user", "content": r["prompt"]}],
                                        add_generation_prompt=True)  # fmt: skip
            for resp in mlx_ifp.stream_generate(model, tok, p + head, args.max_tokens - len(head),
                                                pruner=pruner):  # fmt: skip
                tail.append(resp.token)
            ended = resp.finish_reason == "stop"
        toks = head + tail
        rows.append({
            "group": r["group"], "tokens": len(toks), "source_tokens": len(head), "ended": ended,
            "loops": loops(toks), "s": round(time.perf_counter() - t0, 2),
            "text": tok.decode(toks),
        })  # fmt: skip
        print(r["group"], len(head), len(toks), ended, flush=True)
    counted = rows[1:]
    out = {
        "prompts": len(counted), "t": args.t, "keep": args.keep, "max_tokens": args.max_tokens,
        "ended": sum(x["ended"] for x in counted), "loops": sum(x["loops"] for x in counted),
        "ended_by_source_alone": sum(x["ended"] and not x["tokens"] > x["source_tokens"]
                                     for x in counted),  # fmt: skip
        "mean_tokens": round(sum(x["tokens"] for x in counted) / len(counted), 1),
        "readme": rows[0]["text"], "readme_ended": rows[0]["ended"], "rows": rows,
    }  # fmt: skip
    tmp = Path(args.output).with_suffix(".tmp")
    tmp.write_text(json.dumps(out, indent=1))
    os.replace(tmp, args.output)
    print({k: v for k, v in out.items() if k != "rows"})


if __name__ == "__main__":
    main()
