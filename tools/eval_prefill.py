"""Quality of dense-prefill + slim decoding vs all-slim, on the real model and real test data.

With ``--prefill dense`` (the default for per-prompt GRIFFIN masks) the prompt's KV cache comes
from the dense model and only the reply is decoded by the slim model. Teacher-forced, that is a
per-position mask: prompt positions keep every channel, the rest keep the mask's. For each test
item this scores the reference reply both ways, with the same mask, against the dense model.

    OPENBLAS_NUM_THREADS=1 python tools/eval_prefill.py --limit 12 -o prefill_quality.json
"""

from __future__ import annotations

import argparse
import json

import mlx_ifp  # noqa: F401  (OpenBLAS before mlx.core)
from mlx_ifp import data as data_mod
from mlx_ifp import load
from mlx_ifp.core import ffn
from mlx_ifp.evaluation.metrics import (
    batch_of,
    dense_prompt,
    logprobs,
    pairs,
    summarise,
    token_metrics,
)
from mlx_ifp.evaluation.run import instructions, masks_for
from mlx_ifp.sources import make_source

CONFIGS = [("griffin", 0.5), ("griffin", 0.33), ("static-act", 0.5)]


def compare(model, tok, data, domains, limit: int, max_len: int = 384) -> list[dict]:
    d = ffn.d_ffn(model)
    tasks = data_mod.tasks(data)
    rows = []
    for dom in domains:
        items = instructions(data, dom)[:limit]
        for name, keep in CONFIGS:
            k = int(round(keep * d))
            masks = masks_for(model, tok, make_source(name, tokenizer=tok), items, k, "input",
                              tasks[dom])  # fmt: skip
            got: dict = {"slim": [], "dense": []}
            for item, mask in zip(items, masks, strict=True):
                chunk = pairs(tok, [item], max_len)
                x = batch_of(chunk)
                ref = logprobs(model, x, None, chunk)
                m = mask.dense()[None]  # (1, L, d)
                got["slim"] += token_metrics(ref, logprobs(model, x, m, chunk), chunk)
                per_pos = dense_prompt(m, chunk, x.shape[1])
                got["dense"] += token_metrics(ref, logprobs(model, x, per_pos, chunk), chunk)
            for prefill, r in got.items():
                rows.append({"domain": dom, "source": name, "keep": keep, "prefill": prefill,
                             **summarise(r)})  # fmt: skip
                print(json.dumps(rows[-1]), flush=True)
    return rows


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="smollm2-135m-instruct")
    ap.add_argument("--data", default=None, help="A `mlx_ifp data build` folder (default: build).")
    ap.add_argument("--domains", default=",".join(data_mod.DOMAINS))
    ap.add_argument("--limit", type=int, default=12)
    ap.add_argument("-o", "--output")
    a = ap.parse_args()
    model, tok = load(a.model)
    data = a.data or data_mod.build()
    rows = compare(model, tok, data, a.domains.split(","), a.limit)
    print("| domain | source | keep | KL, slim prefill | KL, dense prefill |")
    print("|---|---|---|---|---|")
    for s, dn in zip(rows[::2], rows[1::2], strict=True):
        print(f"| {s['domain']} | {s['source']} | {s['keep']} | {s['kl']:.3f} | {dn['kl']:.3f} |")
    if a.output:
        from mlx_ifp.common import atomic_file

        with atomic_file(a.output) as tmp:
            tmp.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
