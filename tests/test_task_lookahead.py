"""``tools/eval_task_masks.py --lookahead``: the dense model's greedy draft (KV cache) against a
loop without one, the end token that stops it, each row's mask as ``select`` on the prompt and
that draft (not the reference reply the row scores), and the option's bad input (one line, exit
2)."""

import subprocess
import sys
from pathlib import Path

from mlx_ifp.sources import make_source

import mlx.core as mx
import numpy as np
import pytest
from tiny import tiny_model

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))
K = 48  # of the tiny model's 96 channels


def uncached(model, tokens, n):
    """Greedy tokens by a full forward pass per step (no cache)."""
    out = []
    for _ in range(n):
        out.append(mx.argmax(model(mx.array([tokens + out]))[0, -1]).item())
    return out


def test_draft_is_the_greedy_continuation_and_stops_at_the_end_token():
    from eval_task_masks import draft

    model, prompt = tiny_model("llama"), [5, 9, 17, 3, 40, 2]
    want = uncached(model, prompt, 8)
    assert draft(model, prompt, 8, set()) == want
    assert draft(model, prompt, 3, set()) == want[:3]
    stop = want[4]  # its first place in the greedy reply ends the draft
    assert draft(model, prompt, 8, {stop}) == want[: want.index(stop)]


def test_each_mask_is_picked_from_the_prompt_and_the_draft_not_the_reference():
    from eval_task_masks import draft, lookahead_masks

    model, src = tiny_model("llama"), make_source("griffin")
    items = [([5, 9, 17, 3, 40, 2, 77, 78, 79, 80, 81, 82], 6), ([11, 12, 13, 90, 91], 3)]
    got = lookahead_masks(src, model, items, K, 6, set())
    for (toks, start), mask in zip(items, got, strict=True):
        prompt = toks[:start]
        ahead = prompt + draft(model, prompt, 6, set())
        assert ahead != toks  # (the reference reply is not the draft: the test tells them apart)
        assert np.array_equal(mask.dense(), src.select(model, ahead, K).dense())
        for other in (prompt, toks):  # neither the prompt alone nor the scored reference
            assert not np.array_equal(mask.dense(), src.select(model, other, K).dense())


@pytest.mark.parametrize("value", ["0", "8,x", "-16"])
def test_bad_lookahead_is_one_line_before_the_load(tmp_path, value):
    run = subprocess.run(
        [sys.executable, str(ROOT / "tools" / "eval_task_masks.py"), "--run", str(tmp_path)]
        + ["--lookahead", value],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert run.returncode == 2 and "--lookahead takes whole numbers" in run.stderr, run.stderr
    assert "Traceback" not in run.stderr
