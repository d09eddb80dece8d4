"""The honest test of learning: on a synthetic two-domain task whose right continuation needs a
different FFN mask per domain, the trained predictor must beat the best learned static mask.

Targets are the frozen tiny model's own greedy continuations under a fixed random mask per
domain, so the oracle (the right mask per domain) is known. Both arms use the same trainer,
budget, steps and data; they are scored on held-out prompts with hard top-k masks.
"""

import json

from mlx_ifp import ffn
from mlx_ifp.finetune import finetune, load_config
from mlx_ifp.predictor import load_predictor
from mlx_ifp.softtopk import topk_indicator

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest
from test_finetune import Tok
from tiny import tiny_model

K, DOMAINS, REPLY = 24, 2, 3


def model():
    m = tiny_model("llama")
    m.lm_head.weight = m.lm_head.weight * 8  # peaked next-token distributions
    mx.eval(m.parameters())
    return m


def make_task(folder):
    m, rng = model(), np.random.default_rng(0)
    L, d = len(ffn.layers(m)), ffn.d_ffn(m)
    masks = np.zeros((DOMAINS, L, d), np.float32)
    for i in range(DOMAINS):
        for layer in range(L):
            masks[i, layer, rng.choice(d, K, replace=False)] = 1
    for split, n in (("train", 1024), ("valid", 64)):
        with open(folder / f"{split}.jsonl", "w") as f:
            for _ in range(n):
                i = int(rng.integers(DOMAINS))  # a domain token, then that domain's vocabulary
                toks = [2 + i] + rng.integers(10 + 59 * i, 69 + 59 * i, 5).tolist()
                with ffn.masked(m, mx.array(masks[i])):
                    for _ in range(REPLY):
                        toks.append(int(mx.argmax(m(mx.array([toks]))[0, -1]).item()))
                rec = {"prompt": " ".join(map(str, toks[:-REPLY]))}
                rec["completion"] = " ".join(map(str, toks[-REPLY:]))
                f.write(json.dumps(rec) + "\n")


def reply_ce(folder, out):
    m = model()
    pred = load_predictor(out, m)
    tot = n = 0
    for line in open(folder / "valid.jsonl"):
        r = json.loads(line)
        p, c = Tok().encode(r["prompt"]), Tok().encode(r["completion"])
        x = mx.array([p + c])
        with ffn.masked(m, topk_indicator(pred(mx.array([p])), K)):
            logits = m(x[:, :-1])
        tot += nn.losses.cross_entropy(logits[:, -len(c) :], x[:, -len(c) :]).sum().item()
        n += len(c)
    return tot / n


@pytest.mark.slow
@pytest.mark.xfail(
    reason="not met yet: the predictor splits masks by domain (overlap 0.81-0.85 within, 0.56 "
    "across) but its held-out reply CE (1.46) does not beat the learned static mask (1.42); "
    "oracle 0.48",
    strict=False,
)
def test_predictor_beats_the_best_static_mask(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    make_task(data)
    ce = {}
    for arm, pc in (("predictor", dict(layers=2, rank=32)), ("static", dict(head="static"))):
        cfg = load_config(
            None, data=str(data), output=str(tmp_path / arm), iters=150, batch_size=16,
            keep=str(K), predictor=pc, predictor_lr=3e-3, eps_start=0.3, eps_end=0.01,
            val_every=0, quiet=True,
        )  # fmt: skip
        ce[arm] = reply_ce(data, finetune(cfg, model(), Tok()))
    print(ce)
    assert ce["predictor"] < ce["static"] - 0.1, ce
