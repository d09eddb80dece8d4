"""Score the shipped predictor's three ways of reading the prompt, on real data, side by side.

``generate`` with the default (trained predictor + LoRA) source picks a mask from the first user
turn, then either runs the whole prompt through the slim model (``slim``) or prefills the KV
cache densely and decodes with the slim one. The dense prefill can come from the LoRA'd model
(``dense-lora``: the same weights as the slim model, all channels kept) or from the untouched
source model (``dense-source``: the KV cache the distillation teacher itself would hold). For
every item this builds the real slim model (``Pruner``), runs the three paths with mlx-lm KV
caches exactly as decoding does, and scores the reference reply against the dense source:
KL, NLL, top-1 agreement, per domain, with paired bootstrap intervals between the paths
(``tools/paired_ci.py``'s); the JSON keeps the per-item sums.

    OPENBLAS_NUM_THREADS=1 python tools/eval_prefill_modes.py --split valid --limit 24 \
        -o docs/results/prefill_modes/valid.json

``--run DIR`` scores another finetune output (predictor + LoRA, e.g. the learned static control
``docs/results/train_rw0/k0.5-static/stage2``, restored by ``git archive 56f8b50
docs/results/train_rw0/k0.5-static | tar x``) the same way instead of the shipped predictor.
"""

from __future__ import annotations

import argparse
import json
import random

import mlx_ifp
from mlx_ifp import Mask
from mlx_ifp import data as data_mod
from mlx_ifp.common import atomic_file
from mlx_ifp.evaluation.metrics import pairs, summarise, token_metrics
from mlx_ifp.evaluation.run import instructions
from mlx_ifp.inference import Pruner
from mlx_ifp.models.resolve import adapted_copy
from mlx_ifp.sources.base import dense_prefill

import mlx.core as mx
import mlx.nn as nn
from paired_ci import interval  # a sibling script: tools/ is on the path

MODES = ("slim", "dense-lora", "dense-source")


def reply_logprobs(model, tokens: list[int], start: int, cache=None) -> mx.array:
    """(N, V) log-probabilities predicting ``tokens[start:]``; with ``cache`` (holding
    ``tokens[:start - 1]``) only the rest runs through ``model``."""
    if cache is None:
        out = model(mx.array(tokens, dtype=mx.int32)[None])[0, start - 1 : len(tokens) - 1]
    else:
        out = model(mx.array(tokens[start - 1 : -1], dtype=mx.int32)[None], cache=cache)[0]
    return nn.log_softmax(out.astype(mx.float32), axis=-1)


def score_item(
    pruner: Pruner, source, dense_lora, tok, item: dict, max_len: int
) -> dict[str, dict]:
    """Per mode: summed NLL, KL and top-1 over the reference reply of one item."""
    (tokens, start), *_ = pairs(tok, [item], max_len)
    chunk = [(tokens, start)]
    ref = reply_logprobs(source, tokens, start)
    slim, _ = pruner.slim_for(item["prompt"])
    prompt = tokens[: start - 1]
    caches = {
        "slim": None,
        "dense-lora": dense_prefill(dense_lora, prompt),
        "dense-source": dense_prefill(source, prompt),
    }
    return {
        mode: token_metrics(ref, reply_logprobs(slim, tokens, start, cache), chunk)[0]
        for mode, cache in caches.items()
    }


def paired(rows: list[dict], a: str, b: str, key: str, resamples: int = 10000) -> dict:
    """Per-token mean of ``b`` minus ``a`` with a 95% paired bootstrap interval over items."""
    got = interval([r[b] for r in rows], [r[a] for r in rows], key, resamples, random.Random(0))
    return {"a": a, "b": b, "metric": key, **got}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--split", default="valid", help="corpus split: valid (to choose) or test")
    ap.add_argument("--domains", default="math,code,science,prose")
    ap.add_argument("--limit", type=int, default=24, help="items per domain")
    ap.add_argument("--max-len", type=int, default=384)
    ap.add_argument("--keep", default="0.5")
    ap.add_argument("--run", help="finetune output folder (default: the shipped predictor)")
    ap.add_argument("-o", "--output", help="write the JSON here")
    args = ap.parse_args()

    source, tok = mlx_ifp.load()
    if args.run:  # the run's LoRA on a copy sharing the source's arrays; its predictor picks
        tuned = adapted_copy(source, args.run)
        pruner = Pruner(tuned, tok, source="predictor", keep=args.keep)
    else:
        pruner = Pruner(source, tok, keep=args.keep)  # the default: shipped predictor + LoRA
    # the LoRA'd model at full width, its LoRA fused (float16 LoRA matmuls have no CPU BLAS)
    dense_lora, _ = pruner.slim_from_mask(Mask.full(pruner.model))
    data = data_mod.build(verbose=False)  # reuses the cached corpus
    result = {"split": args.split, "keep": args.keep, "source": pruner.source.key(), "rows": []}
    result["run"] = args.run or "shipped"
    per_item = []
    for dom in args.domains.split(","):
        items = instructions(data, dom, args.split)[: args.limit]
        got = [score_item(pruner, source, dense_lora, tok, it, args.max_len) for it in items]
        per_item += got
        for mode in MODES:
            row = {"domain": dom, "prefill": mode, **summarise([g[mode] for g in got])}
            result["rows"].append(row)
            print(json.dumps(row), flush=True)
    for mode in MODES:
        row = {"domain": "all", "prefill": mode, **summarise([g[mode] for g in per_item])}
        result["rows"].append(row)
    result["items"] = per_item
    result["paired"] = [
        paired(per_item, "slim", b, key) for b in MODES[1:] for key in ("kl", "nll")
    ] + [paired(per_item, "dense-lora", "dense-source", key) for key in ("kl", "nll")]
    print(f"\n{'domain':8} {'prefill':13} {'n':>3} {'KL':>7} {'NLL':>7} {'top1':>6}")
    for r in result["rows"]:
        print(
            f"{r['domain']:8} {r['prefill']:13} {r['n']:3d} {r['kl']:7.4f} {r['nll']:7.4f} "
            f"{r['top1']:6.3f}"
        )
    for p in result["paired"]:
        print(
            f"{p['b']} - {p['a']} {p['metric']}: {p['diff']:+.4f} [{p['lo']:+.4f}, {p['hi']:+.4f}]"
        )
    if args.output:
        with atomic_file(args.output) as tmp:
            tmp.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
