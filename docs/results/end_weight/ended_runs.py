"""Do greedy replies end? Trained predictor folders side by side, as `generate` runs them.

    python docs/results/end_weight/ended_runs.py --run shipped=mlx_ifp/weights/smollm2-135m-instruct
        --run cand=DIR [-n 12] [--max-tokens 256] [--keep 0.5] -o OUT.json

The prompts and the two counts are `../prefill_ended/ended_prefill.py`'s: the sixth chat set's
validation prompts whose dense greedy reply ended within 128 tokens, the first N per group; a
reply *ends* when it stops on its own within `--max-tokens`, it *loops* when one of its token
8-grams occurs three times or more. Each run's folder (predictor + LoRA) is one `Pruner`, with
the slim prefill and re-picking that `generate` uses by default.
"""

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "prefill_ended"))
from ended_prefill import counts, loops, prompts, table, write  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--run", action="append", required=True, help="NAME=FOLDER (repeatable)")
    ap.add_argument("-n", type=int, default=12, help="prompts per group (12)")
    ap.add_argument("--max-tokens", type=int, default=256)
    ap.add_argument("--keep", default="0.5")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    runs = dict(r.split("=", 1) for r in args.run)
    import mlx_ifp

    rows = prompts(args.n)
    out = {"prompts": len(rows), "max_tokens": args.max_tokens, "keep": args.keep, "arms": {}}
    for name, folder in runs.items():
        # its LoRA (the scale its config names); float weights (the CPU default; on CUDA too)
        model, tok = mlx_ifp.load(adapter_path=folder, dequantize=True)
        pruner = mlx_ifp.Pruner(model, tok, "predictor", keep=args.keep, path=folder)
        seen = []
        for r in rows:
            t0, toks = time.perf_counter(), []
            prompt, n = r["prompt"], args.max_tokens
            for resp in mlx_ifp.stream_generate(model, tok, prompt, n, pruner=pruner):
                toks.append(resp.token)
            seen.append({
                "group": r["group"], "tokens": len(toks), "ended": resp.finish_reason == "stop",
                "loops": loops(toks), "s": round(time.perf_counter() - t0, 2),
                "text": tok.decode(toks)[:400],
            })  # fmt: skip
            print(name, r["group"], len(toks), seen[-1]["ended"], seen[-1]["loops"], flush=True)
        out["arms"][name] = {"folder": folder, **counts(seen)}
        write(out, args.output)
    table(out)


if __name__ == "__main__":
    main()
