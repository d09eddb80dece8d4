"""Where do the default's replies miss the end? Teacher-forced on dense's own replies.

    python docs/results/end_weight/teacher_forced.py [-n 12] -o OUT.json

The 47 prompts of `../prefill_ended/` (the sixth chat set's validation prompts whose dense
greedy reply ends). Each dense reply, up to its end-of-turn token, is read by the dense model
and by the shipped keep-0.5 default (or `--run DIR`; one mask from the prompt, its LoRA),
teacher-forced: the probability each gives the end of the turn where dense's reply ends, and
whether each one's top token there is the end. Joined with the fifty-eighth session's greedy replies
(`../prefill_ended/ended_k05.json`, slim prefill): does a reply that runs on miss the end where
dense ends it, or drift before it and never get there?
"""

import argparse
import json
import os
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent / "prefill_ended"))
from ended_prefill import prompts  # noqa: E402


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-n", type=int, default=12, help="prompts per group (12)")
    ap.add_argument("--run", help="a trained folder (predictor + LoRA) instead of the shipped one")
    ap.add_argument("-o", "--output", required=True)
    args = ap.parse_args()
    import mlx_ifp

    import mlx.core as mx

    model, tok = mlx_ifp.load()
    pruner = mlx_ifp.Pruner(model, tok, keep=0.5)
    if args.run:  # its LoRA'd model (the scale its config names) and its predictor
        tuned = mlx_ifp.load(adapter_path=args.run)[0]
        pruner = mlx_ifp.Pruner(tuned, tok, "predictor", keep=0.5, path=args.run)
    ends = sorted(tok.eos_token_ids)
    greedy = json.loads((HERE.parent / "prefill_ended/ended_k05.json").read_text())
    greedy = greedy["arms"]["keep0.5_slim"]["replies"]
    rows = []
    for r, g in zip(prompts(args.n), greedy, strict=True):
        turn = [{"role": "user", "content": r["prompt"]}]
        p = tok.apply_chat_template(turn, add_generation_prompt=True)
        full = tok.apply_chat_template([*turn, {"role": "assistant", "content": r["completion"]}])
        stop = next(i for i in range(len(p), len(full)) if full[i] in ends)  # the reply's end
        x = mx.array([full[:stop]])
        slim, _ = pruner.slim_for(r["prompt"])
        row = {"group": r["group"], "reply_tokens": stop - len(p), "greedy_ended": g["ended"]}
        for name, m in (("dense", model), ("pruned", slim)):
            logits = m(x)[0].astype(mx.float32)
            lp = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
            top = mx.argmax(lp[len(p) - 1 :], axis=-1).tolist()  # each reply position's top
            row[f"{name}_p_end"] = round(sum(mx.exp(lp[-1, ends]).tolist()), 4)
            row[f"{name}_top_is_end"] = top[-1] in ends
            # the first reply position whose top token is not dense's reply token
            agree = [t == full[len(p) + i] for i, t in enumerate(top[:-1])]
            row[f"{name}_first_miss"] = agree.index(False) if False in agree else None
        rows.append(row)
        print(row, flush=True)
    ran_on = [x for x in rows if not x["greedy_ended"]]
    mean = lambda xs, key: round(sum(x[key] for x in xs) / max(len(xs), 1), 4)  # noqa: E731
    out = {"prompts": len(rows), "rows": rows, "summary": {
        "pruned_top_is_end": sum(x["pruned_top_is_end"] for x in rows),
        "dense_top_is_end": sum(x["dense_top_is_end"] for x in rows),
        "ran_on": len(ran_on),
        "ran_on_pruned_top_is_end": sum(x["pruned_top_is_end"] for x in ran_on),
        "mean_p_end_dense": mean(rows, "dense_p_end"),
        "mean_p_end_pruned": mean(rows, "pruned_p_end"),
        "mean_p_end_pruned_ran_on": mean(ran_on, "pruned_p_end"),
        "mean_p_end_dense_ran_on": mean(ran_on, "dense_p_end"),
    }}  # fmt: skip
    tmp = Path(args.output).with_suffix(".tmp")
    tmp.write_text(json.dumps(out, indent=1))
    os.replace(tmp, args.output)
    print(json.dumps(out["summary"], indent=1))


if __name__ == "__main__":
    main()
