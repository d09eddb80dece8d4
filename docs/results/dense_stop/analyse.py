"""Would the source model end the pruned default's replies? Its top token at each reply position.

    python docs/results/dense_stop/analyse.py [-n 12] [--max-tokens 256] [--keep 0.5 0.33]
        -o OUT.json

The 47 prompts of `../prefill_ended/` (and the README's France prompt first, not counted): the
shipped default's greedy reply as `generate` writes it (re-picked, slim prefill), then the
unpruned source model reads prompt + reply in one pass. ``cut``: the first reply position whose
source top token ends the turn (the reply held back and cut there); ``boundary``: the next
multiple of 16 after it (tokens released at once, the reply stopped at the next re-pick).
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

EVERY = 16  # generate's re-pick interval: the source reads the reply this many tokens at a time


def mean_tokens(rows: list[dict], key: str) -> float:
    """The mean reply length with each reply cut at ``key`` (its own length where it has none)."""
    return round(sum(x["tokens"] if x[key] is None else x[key] for x in rows) / len(rows), 1)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=12, help="prompts per group (12)")
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--keep", type=float, nargs="+", default=[0.5, 0.33])
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    import mlx_ifp  # first: the optimized BLAS before mlx.core

    import mlx.core as mx

    model, tok = mlx_ifp.load()
    ends = sorted(tok.eos_token_ids)
    first = {"group": "readme", "prompt": "What is the capital of France?"}
    out = {"prompts": 47, "max_tokens": args.max_tokens, "every": EVERY, "arms": {}}
    for keep in args.keep:
        pruner, rows = mlx_ifp.Pruner(model, tok, keep=keep), []
        for r in [first, *prompts(args.n)]:
            t0, toks = time.perf_counter(), []
            for resp in mlx_ifp.stream_generate(model, tok, r["prompt"], args.max_tokens,
                                                pruner=pruner):  # fmt: skip
                toks.append(resp.token)
            ended = resp.finish_reason == "stop"
            reply = toks[:-1] if ended and toks[-1] in ends else toks  # its text, no end token
            p = tok.apply_chat_template([{"role": "user", "content": r["prompt"]}],
                                        add_generation_prompt=True)  # fmt: skip
            logits = model(mx.array([p + reply]))[0, len(p) - 1 :].astype(mx.float32)
            top = mx.argmax(logits, axis=-1).tolist()  # position i: the source's reply token i
            lp = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
            p_end = mx.exp(lp[:, ends]).sum(axis=-1).tolist()
            cut = next((i for i, t in enumerate(top) if t in ends), None)
            if cut is not None and ended and cut >= len(reply):
                cut = None  # the source ends where the reply ended on its own: nothing to cut
            bound = None if cut is None else min(-(-(cut + 1) // EVERY) * EVERY, len(reply))
            cut_text = None if cut is None else tok.decode(reply[:cut])
            bound_text = None if bound is None else tok.decode(reply[:bound])
            rows.append({
                "group": r["group"], "tokens": len(reply), "ended": ended, "loops": loops(toks),
                "cut": cut, "boundary": bound, "max_p_end": round(max(p_end), 4),
                "p_end_at_cut": None if cut is None else round(p_end[cut], 4),
                "s": round(time.perf_counter() - t0, 2), "text": tok.decode(reply),
                "cut_text": cut_text, "boundary_text": bound_text,
            })  # fmt: skip
            print(keep, r["group"], len(reply), ended, cut, bound, flush=True)
        counted = rows[1:]
        out["arms"][f"keep{keep}"] = {
            "ended": sum(x["ended"] for x in counted),
            "ended_with_check": sum(x["ended"] or x["cut"] is not None for x in counted),
            "cut_before_own_end": sum(x["ended"] and x["cut"] is not None for x in counted),
            "mean_tokens": round(sum(x["tokens"] for x in counted) / len(counted), 1),
            "mean_tokens_cut": mean_tokens(counted, "cut"),
            "mean_tokens_boundary": mean_tokens(counted, "boundary"),
            "readme_cut": rows[0]["cut_text"], "readme_boundary": rows[0]["boundary_text"],
            "rows": rows,
        }  # fmt: skip
        tmp = Path(args.output).with_suffix(".tmp")
        tmp.write_text(json.dumps(out, indent=1))
        os.replace(tmp, args.output)
    for name, a in out["arms"].items():
        print(name, {k: v for k, v in a.items() if k != "rows"})


if __name__ == "__main__":
    main()
