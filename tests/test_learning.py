"""The honest test of learning: on a synthetic two-domain task whose right continuation needs a
different FFN mask per domain, the trained predictor must beat the best learned static mask.

Targets are the frozen tiny model's own greedy continuations under a fixed random mask per
domain, so the oracle (the right mask per domain) is known. Both arms use the same trainer,
settings, budget, steps and data; only the head differs (prompt-dependent vs ``head="static"``,
a learned score vector). Both are scored on held-out prompts through the inference path:
``PredictorSource`` -> hard top-k ``Mask`` -> ``prune`` -> the slim model's reply CE.

Log (held-out reply CE, predictor / learned static; oracle 0.41-0.45; task seeds 0-4, training
seed 0, 150 steps x 16, lr 3e-3; details in docs/learning.md):

- paper's training mask ``l * TopK(l)``, eps 0.3->0.01, last-token pooling (the first version):
  1.38 1.20 0.94 1.08 1.09 / 1.05 0.93 0.95 0.98 0.86: the predictor loses.
  Same with mean pooling: 1.33 1.22 1.05 1.27 1.36: still loses, so it is not (only) the
  prompt representation.
- ``mask_forward="hard_st"`` (0/1 top-k forward, SoftTopK gradient straight through), eps
  0.3->0.01, mean pooling: 0.62 0.57 0.71 0.64 0.79 / 1.10 1.00 0.86 1.07 0.82.
- the same, lr 1e-2: both arms worse (1.43 1.07 0.89 0.79 1.34 / 1.01 0.90 0.85 0.95 0.82).
- ``hard_st``, eps 1.0->0.03, mean pooling (this test): 0.53 0.70 0.63 0.65 0.66 /
  1.15 1.01 0.92 0.99 0.94. The best static over all five settings above, per seed,
  1.01 0.90 0.85 0.95 0.82, still loses to it by 0.16-0.48.
"""

import json

from mlx_ifp.core import ffn
from mlx_ifp.core.mask import Mask
from mlx_ifp.inference.pruner import prune
from mlx_ifp.sources.predictor import PredictorSource
from mlx_ifp.train import finetune, load_config

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest
from test_finetune import Tok
from tiny import tiny_model

K, DOMAINS, REPLY = 24, 2, 3
SETTINGS = dict(
    iters=150, batch_size=16, keep=str(K), mask_forward="hard_st", predictor_lr=3e-3,
    eps_start=1.0, eps_end=0.03, val_every=0, quiet=True,
)  # fmt: skip
ARMS = {"predictor": dict(layers=2, rank=32, pooling="mean"), "static": dict(head="static")}


def model():
    m = tiny_model("llama")
    m.lm_head.weight = m.lm_head.weight * 8  # peaked next-token distributions
    mx.eval(m.parameters())
    return m


def make_task(folder, seed=0):
    """Write train/valid.jsonl; return the per-domain masks (DOMAINS, L, d) that made them."""
    m, rng = model(), np.random.default_rng(seed)
    L, d = len(ffn.layers(m)), ffn.d_ffn(m)
    masks = np.zeros((DOMAINS, L, d), np.float32)
    for i in range(DOMAINS):
        for layer in range(L):
            masks[i, layer, rng.choice(d, K, replace=False)] = 1
    for split, n in (("train", 1024), ("valid", 256)):
        dom = rng.integers(DOMAINS, size=n)  # a domain token, then that domain's vocabulary
        words = 10 + 59 * dom[:, None] + rng.integers(0, 59, (n, 5))
        toks = np.concatenate([2 + dom[:, None], words], axis=1)
        with ffn.masked(m, mx.array(masks[dom])):
            for _ in range(REPLY):
                nxt = np.array(mx.argmax(m(mx.array(toks))[:, -1], axis=-1))
                toks = np.concatenate([toks, nxt[:, None]], axis=1)
        with open(folder / f"{split}.jsonl", "w") as f:
            for row in toks.tolist():
                rec = {"prompt": " ".join(map(str, row[:-REPLY]))}
                rec["completion"] = " ".join(map(str, row[-REPLY:]))
                f.write(json.dumps(rec) + "\n")
    return masks


def reply_ce(folder, select):
    """Held-out reply CE of the slim models pruned to ``select(model, prompt, K) -> Mask``."""
    m = model()
    tot = n = 0
    for line in open(folder / "valid.jsonl"):
        r = json.loads(line)
        p, c = Tok().encode(r["prompt"]), Tok().encode(r["completion"])
        x = mx.array([p + c])
        logits = prune(m, select(m, p, K))(x[:, :-1])
        tot += nn.losses.cross_entropy(logits[:, -len(c) :], x[:, -len(c) :]).sum().item()
        n += len(c)
    return tot / n


@pytest.mark.slow
def test_predictor_beats_the_best_static_mask(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    masks = make_task(data)
    ce = {}
    for arm, pc in ARMS.items():
        out = str(tmp_path / arm)
        cfg = load_config(None, data=str(data), output=out, predictor=pc, **SETTINGS)
        ce[arm] = reply_ce(data, PredictorSource(finetune(cfg, model(), Tok())).select)
    idx = [mx.array(np.nonzero(dm)[1].reshape(len(dm), K)) for dm in masks]
    ce["oracle"] = reply_ce(data, lambda m, p, k: Mask(idx[p[0] - 2], masks.shape[-1]))
    print(ce)
    assert ce["predictor"] < ce["static"] - 0.1, ce
