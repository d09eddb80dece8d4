"""Per-task masks from a task's example prompts: the source API, the pruner, the CLI's
``--task @FILE`` and the server's tasks YAML (tiny models)."""

import json

from mlx_ifp.common import UsageError
from mlx_ifp.core import ffn
from mlx_ifp.inference.pruner import Pruner
from mlx_ifp.serve.registry import read_tasks
from mlx_ifp.sources import MaskSource, make_source

import mlx.core as mx
import numpy as np
import pytest
from tiny import tiny_model

A, B = [5, 9, 17, 3, 44, 2], [60, 61, 7, 7, 12, 90, 33, 8, 100, 1]


def indices(mask):
    return np.sort(np.array(mask.indices), axis=-1)


def test_one_example_twice_is_that_example():
    model, src = tiny_model("llama"), make_source("griffin")
    same = src.select_examples(model, [A, A], 40)
    assert np.array_equal(indices(same), indices(src.select(model, A, 40)))


class Scaled(MaskSource):
    """Scores whose scale grows with the prompt's length, as raw activation norms can."""

    name = "scaled"

    def scores(self, model, tokens):
        key = mx.random.key(int(mx.array(tokens).sum().item()))
        return mx.random.uniform(shape=(len(ffn.layers(model)), ffn.d_ffn(model)), key=key) * (
            tokens.size**3
        )


def test_examples_weigh_the_same_whatever_their_scale():
    """Two examples, the second long (its raw scores 1000x larger): the task's mask is the top
    of both equally, not the long one's alone."""
    model, src = tiny_model("llama"), Scaled()
    long_b = B * 10
    both = indices(src.select_examples(model, [A, long_b], 40))
    only_b = indices(src.select(model, long_b, 40))
    only_a = indices(src.select(model, A, 40))
    for layer in range(both.shape[0]):
        assert set(both[layer]) & (set(only_a[layer]) - set(only_b[layer])), layer


def test_order_does_not_matter_and_labels_differ():
    model, src = tiny_model("llama"), make_source("griffin")
    ab, ba = src.select_examples(model, [A, B], 40), src.select_examples(model, [B, A], 40)
    assert np.array_equal(indices(ab), indices(ba))
    assert ab.text_hash != src.select(model, A, 40).text_hash


def test_empty_examples_are_refused():
    model, src = tiny_model("llama"), make_source("griffin")
    with pytest.raises(UsageError):
        src.select_examples(model, [], 40)
    with pytest.raises(UsageError):
        src.select_examples(model, [A, []], 40)


def test_pruner_caches_a_task_of_examples():
    model = tiny_model("llama")
    pruner = Pruner(model, None, source="griffin", keep=40)
    slim, info = pruner.slim_for([A, B])
    again, hit = pruner.slim_for([A, B])
    assert hit.cache_hit and again is slim and not info.cache_hit
    _, single = pruner.slim_for(A)
    assert not single.cache_hit  # one example is another task
    x = mx.array([A])
    assert slim(x).shape == model(x).shape


def test_cli_task_file(tmp_path):
    from mlx_ifp.cli.generate import read_task

    (tmp_path / "t.txt").write_text("first prompt\n\nsecond prompt\n")
    assert read_task(f"@{tmp_path / 't.txt'}") == ["first prompt", "second prompt"]
    (tmp_path / "t.jsonl").write_text(json.dumps({"prompt": "a b"}) + "\n" + '"c d"\n')
    assert read_task(f"@{tmp_path / 't.jsonl'}") == ["a b", "c d"]
    assert read_task("plain description") == "plain description"
    for bad, why in [("missing.txt", "not found"), ("bad.jsonl", "not JSON")]:
        (tmp_path / "bad.jsonl").write_text("{oops\n")
        with pytest.raises(UsageError, match=why):
            read_task(f"@{tmp_path / bad}")


def test_cli_refuses_a_missing_task_file(tmp_path):
    from mlx_ifp.cli import app

    from typer.testing import CliRunner

    run = CliRunner().invoke(app, ["generate", "-p", "hi", "--task", f"@{tmp_path}/none.txt"])
    assert run.exit_code == 2 and "task examples file not found" in run.output
    assert "Traceback" not in run.output


def test_serve_tasks_yaml_takes_example_lists(tmp_path):
    (tmp_path / "t.yaml").write_text("code:\n  - Write a sort.\n  - Fix this loop.\nmath: Sums.\n")
    tasks = read_tasks(tmp_path / "t.yaml")
    assert tasks == {
        "code": {"task": ["Write a sort.", "Fix this loop."]},
        "math": {"task": "Sums."},
    }
    (tmp_path / "bad.yaml").write_text("code: [1, 2]\n")
    with pytest.raises(UsageError, match="example prompts"):
        read_tasks(tmp_path / "bad.yaml")


def test_readme_example_task_file_reads():
    from pathlib import Path

    from mlx_ifp.cli.generate import read_task

    path = Path(__file__).resolve().parent.parent / "examples" / "task_code.txt"
    examples = read_task(f"@{path}")
    assert len(examples) == 4 and all(e.strip() for e in examples)
