"""``tools/eval_task_masks.py --aggregate``: the rules that form one task mask from example
prompts (mean = ``select_examples``, rank, vote) against a NumPy reference on a tiny model, the
shared channels every rule keeps, and its new options' bad input (one line, exit 2)."""

import subprocess
import sys
from pathlib import Path

from mlx_ifp.core import ffn
from mlx_ifp.sources import MaskSource

import mlx.core as mx
import numpy as np
import pytest
from tiny import tiny_model

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
K = 48  # of the tiny model's 96 channels


class Given(MaskSource):
    """Scores drawn per prompt (seeded by its first token), with channels 0..7 of every layer
    lifted by 1e3 in every prompt, as the shipped predictor's shared part is."""

    name = "given"

    def scores(self, model, tokens):
        shape = (len(ffn.layers(model)), ffn.d_ffn(model))
        x = mx.random.normal(shape, key=mx.random.key(int(mx.array(tokens)[0].item())))
        return x * (1 + mx.arange(shape[1]) % 5) + 1e3 * (mx.arange(shape[1]) < 8)


def unit(x):
    x = x - x.mean(-1, keepdims=True)
    return x / x.std(-1, keepdims=True)


def reference(scores, rule):
    """Each layer's kept channels by ``rule``, ties by the mean unit-scaled score (NumPy)."""
    mean = sum(unit(x) for x in scores)
    if rule == "vote":
        prim = sum(np.argsort(np.argsort(-x, -1), -1) < K for x in scores)
    else:
        prim = sum(np.argsort(np.argsort(x, -1), -1) for x in scores)
    return [set(np.lexsort((m, p))[-K:]) for p, m in zip(prim, mean, strict=True)]


def kept(mask):
    return [set(row.tolist()) for row in np.array(mask.indices)]


@pytest.mark.parametrize("rule", ["rank", "vote"])
def test_rank_and_vote_are_their_rule_not_the_mean(rule):
    from eval_task_masks import task_mask

    model, src = tiny_model("llama"), Given()
    prompts = [[s, 1, 2] for s in range(1, 8)]
    scores = [np.array(src.scores(model, mx.array(t))) for t in prompts]
    got = kept(task_mask(src, model, prompts, K, rule))
    assert got == reference(scores, rule)
    mean = kept(task_mask(src, model, prompts, K, "mean"))
    assert mean == kept(src.select_examples(model, prompts, K))
    assert got != mean  # (the draw makes the rules differ: the test tells them apart)
    for layer in got + mean:  # the lifted (shared) channels stay in every rule's mask
        assert set(range(8)) <= layer


@pytest.mark.parametrize(
    "args, says",
    [
        (["--aggregate", "mean,median"], "--aggregate takes mean, rank, vote"),
        (["--aggregate", ","], "--aggregate takes"),
        (["--holdout"], "--holdout needs --split valid --examples-from valid"),
        (["--holdout", "--split", "valid", "--examples-from", "train"], "--holdout needs"),
    ],
)
def test_bad_options_are_one_line_before_the_load(tmp_path, args, says):
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "eval_task_masks.py"), "--run", str(tmp_path)] + args,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2 and says in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
