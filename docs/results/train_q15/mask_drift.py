"""How far the 1.5B static control's learned mask moved from its static-act start, per layer,
and (``--kl N``) what the mask alone, without its LoRA, scores on N validation items per domain.

    python docs/results/train_q15/mask_drift.py -o docs/results/train_q15/mask_drift.json
    OPENBLAS_NUM_THREADS=2 python docs/results/train_q15/mask_drift.py --kl 4 \
        --domains math,prose,general -o docs/results/train_q15/mask_drift.json

Reads the control's step-300 predictor in ``step300/`` (the packs' LoRAs are not kept). The
start is recomputed by ``finetune``'s own code (``start_scores``: static-act, standardised),
but in float32 on this CPU where the GPU run computed it in bfloat16: close, not identical.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import mlx_ifp  # first: the optimized BLAS before mlx.core

import mlx.core as mx
import numpy as np

HERE = Path(__file__).parent
MODEL = "qwen2.5-coder-1.5b-instruct"


def top(scores: np.ndarray, k: int) -> np.ndarray:
    """0/1 mask (L, d) of each layer's k largest scores; ties (the float16 bias has many) in
    argsort's order, not the package's lowest-index rule (``topk_indicator``: Jaccard within
    0.001 in four layers, the same elsewhere)."""
    idx = np.argsort(-scores, -1)[:, :k]
    m = np.zeros(scores.shape, np.float32)
    np.put_along_axis(m, idx, 1.0, -1)
    return m


def ranks(x: np.ndarray) -> np.ndarray:
    return np.argsort(np.argsort(x))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--kl", type=int, default=0, help="validation items per domain (0: skip)")
    p.add_argument("--domains", default="math,prose,general")
    p.add_argument("--max-len", type=int, default=256)
    p.add_argument("-o", "--output", required=True)
    a = p.parse_args()

    from mlx_ifp.sources.predictor import start_scores

    model, tok = mlx_ifp.load(MODEL, dequantize=True)
    z = np.array(start_scores("static-act", model, tok))
    k = z.shape[-1] // 2
    w = mx.load(str(HERE / "step300/static_predictor.safetensors"))
    bias = np.array(w["bias"].astype(mx.float32))
    m0, m1 = top(z, k), top(bias, k)
    jac = (m0 * m1).sum(-1) / np.maximum(m0, m1).sum(-1)
    iqr = np.percentile(z, 75, -1) - np.percentile(z, 25, -1)
    out = {
        "k": k,
        "jaccard_to_start": np.round(jac, 4).tolist(),
        "jaccard_mean": round(float(jac.mean()), 4),
        "z_iqr": np.round(iqr, 4).tolist(),
        "z_max": np.round(z.max(-1), 1).tolist(),
        "spearman_jaccard_iqr": round(float(np.corrcoef(ranks(jac), ranks(iqr))[0, 1]), 4),
        "most_moved_layers": sorted(np.argsort(jac)[:6].tolist()),
        "narrowest_layers": sorted(np.argsort(iqr)[:6].tolist()),
    }
    print(json.dumps({k_: v for k_, v in out.items() if not isinstance(v, list) or len(v) < 10}))
    if a.kl:
        out["mask_only_kl"] = mask_only(model, tok, z, bias, k, a)
    from mlx_ifp.common import atomic_file

    with atomic_file(a.output) as tmp:  # never a half-written file
        tmp.write_text(json.dumps(out, indent=1) + "\n")


def mask_only(model, tok, z, bias, k, a) -> dict:
    """Validation KL to dense of three masks, no LoRA: the start, the learned one, and the
    learned one with its three most-moved layers put back to the start."""
    from mlx_ifp.common import cache_dir
    from mlx_ifp.evaluation.metrics import batch_of, logprobs, pairs, summarise, token_metrics
    from mlx_ifp.evaluation.run import instructions

    data = sorted(cache_dir("data").glob("v1-*"))[0]
    m_init, m_learn = top(z, k), top(bias, k)
    moved = np.argsort((m_init * m_learn).sum(-1))[:3]
    m_rev = m_learn.copy()
    m_rev[moved] = m_init[moved]
    variants = {
        "static-act (the start)": m_init,
        "learned static @300": m_learn,
        f"learned, layers {sorted(moved.tolist())} = start": m_rev,
    }
    res: dict = {}
    for dom in a.domains.split(","):
        chunk = pairs(tok, instructions(data, dom, "valid")[: a.kl], a.max_len)
        x = batch_of(chunk)
        dense = logprobs(model, x, None, chunk)
        mx.eval(dense)
        for name, m in variants.items():
            masks = mx.broadcast_to(mx.array(m)[None], (len(chunk), *m.shape))
            kl = summarise(token_metrics(dense, logprobs(model, x, masks, chunk), chunk))["kl"]
            res.setdefault(name, {})[dom] = round(kl, 4)
            print(dom, name, round(kl, 3), flush=True)
    return res


if __name__ == "__main__":
    main()
