"""Review of the fifty-fourth session (rev54).

``tools/eval_task_masks.py``'s ``task_mask`` rule ``rank`` orders channels by one int32 key,
(summed ranks) * width + (the mean's rank). With N examples that key reaches N * width**2: past
2**31 at 16 examples of a 12,000-channel FFN (Llama-8B's 14,336 at 16, Qwen2.5-1.5B's 8,960 at
32), so it wrapped negative for the channels every example ranks high (the shipped predictor's
lifted shared channels first) and they fell out of the mask. Failed before: the kept channels
differed from the NumPy reference (int64 key since).
"""

import sys
from pathlib import Path

from mlx_ifp.core import ffn
from mlx_ifp.sources import MaskSource

import mlx.core as mx
import numpy as np
from tiny import tiny_model

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tools"))


class Drawn(MaskSource):
    name = "drawn"

    def scores(self, model, tokens):
        shape = (len(ffn.layers(model)), ffn.d_ffn(model))
        x = mx.random.normal(shape, key=mx.random.key(int(mx.array(tokens)[0].item())))
        return x + 1e3 * (mx.arange(shape[1]) < 8)  # shared channels: on top in every prompt


def test_rank_rule_is_exact_on_a_wide_ffn():
    from eval_task_masks import task_mask

    width, n, k = 12_000, 16, 6_000
    assert n * (width - 1) * width >= 2**31  # (the case the int32 key could not hold)
    model, src = tiny_model("llama", num_hidden_layers=1, intermediate_size=width), Drawn()
    prompts = [[s, 1] for s in range(1, n + 1)]
    scores = [np.array(src.scores(model, mx.array(t)), dtype=np.float64) for t in prompts]
    prim = sum(np.argsort(np.argsort(x, -1), -1) for x in scores)
    mean = sum((x - x.mean(-1, keepdims=True)) / x.std(-1, keepdims=True) for x in scores)
    want = [set(np.lexsort((m, p))[-k:].tolist()) for p, m in zip(prim, mean, strict=True)]
    got = [set(r.tolist()) for r in np.array(task_mask(src, model, prompts, k, "rank").indices)]
    assert got == want
    assert all(set(range(8)) <= layer for layer in got)  # the shared channels kept
