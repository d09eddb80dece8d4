"""Four of the review helpers' suspicions, made tests (each failed before its fix): a markdown
eval table with a `|` in a name, `stream_options` without `stream`, `slim_update` with a mask
of another width, and a bench JSON saved part-way."""

import json
import re

import mlx_ifp
from mlx_ifp.core import UsageError
from mlx_ifp.evaluation import markdown
from mlx_ifp.serve.schemas import APIError, Limits, parse_request

import mlx.core as mx
import pytest
from tiny import tiny_model


def test_a_name_with_a_bar_keeps_the_markdown_table_whole():
    row = {"domain": "math", "source": "a|b", "mode": "input", "keep": 0.5, "k": 48,
           "active_fraction": 0.7, "ppl": 2.0, "kl": 0.1, "top1": 0.9}  # fmt: skip
    lines = markdown({"results": [row]}).splitlines()
    bars = [len(re.findall(r"(?<!\\)\|", line)) for line in lines]  # unescaped: columns
    assert "a\\|b" in lines[-1] and len(set(bars)) == 1, lines


def test_stream_options_without_stream_is_a_400():
    body = {"model": "m", "messages": [{"role": "user", "content": "hi"}],
            "stream_options": {"include_usage": True}}  # fmt: skip
    with pytest.raises(APIError) as e:
        parse_request(body, True, Limits())
    assert e.value.status == 400 and "stream_options" in str(e.value)


def test_slim_update_with_a_mask_of_another_width_is_one_line():
    from mlx_ifp.core import slim_copy, slim_update

    model = tiny_model("llama")
    n = len(mlx_ifp.core.layers(model))
    narrow = [mx.arange(32) for _ in range(n)]
    slim = slim_copy(model, narrow)
    with pytest.raises(UsageError, match="keeps the width"):
        slim_update(model, slim, [list(range(32))] * n, [mx.arange(40) for _ in range(n)])


def test_a_bench_json_saved_along_the_way_is_marked_partial():
    """`bench -o` saves after each keep; a run that died part-way left a JSON that read as
    complete (its later keeps simply missing)."""
    from mlx_ifp.bench import bench

    saved = []
    out = bench(preset="tiny", keeps=(0.5, 0.25), prompt_tokens=4, gen_tokens=2, trials=1,
                variants="a", on_progress=lambda r: saved.append(json.loads(json.dumps(r))),
                log=lambda _: None)  # fmt: skip
    assert [s["complete"] for s in saved] == [False, False, False] and out["complete"] is True
