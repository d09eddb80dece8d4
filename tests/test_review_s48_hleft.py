"""Review (s48): leftovers of earlier reviews.

- ``GET /health`` answers a ``running`` field that docs/serve.md did not name.
- The first run's GGUF conversion logged ``tensors 0/?``: a file ``mx.load`` reads whole (the
  embedded Q4_1 model's) never told the progress display its tensor count, nor that it ended.
- A relative ``MLX_IFP_CACHE`` gave relative cache paths (the corpus ``eval`` records as its
  ``data``, a converted model's folder): read from another folder, they name another place.
- ``finetune --test`` with YAML ``quiet: true`` printed nothing and stored nothing: the test
  score was lost.

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import asyncio
import importlib.util
import json
import math
import os
import re
from pathlib import Path

from mlx_ifp.cli import main
from mlx_ifp.common import cache_dir
from mlx_ifp.models.gguf import read_gguf
from mlx_ifp.models.gguf_decode import read_with_gguf
from mlx_ifp.serve.app import create_app

import mlx.core as mx
import pytest
from bad_world import words_data
from tiny import save_folder, tiny_model

DOCS = Path(__file__).resolve().parent.parent / "docs" / "serve.md"


def test_health_fields_are_the_documented_ones():
    """docs/serve.md listed queue length, done, cancelled and failed; the answer has
    ``running`` (and ``status``) besides. The documented object's keys are the answer's."""
    route = next(r for r in create_app(None).routes if getattr(r, "path", "") == "/health")
    answer = json.loads(asyncio.run(route.endpoint(None)).body)
    text = DOCS.read_text()
    said = re.search(r"`GET /health` \(`(\{[^`]*\})`", text)
    assert said, "docs/serve.md shows no /health answer"
    assert list(json.loads(said.group(1))) == list(answer), (said.group(1), answer)


def test_gguf_read_whole_reports_its_tensor_count(tmp_path):
    """A GGUF of float tensors is ``mx.load``-ed whole; ``progress`` was never called, so the
    first run's log read ``Converting ...: tensors 0/?``. It now hears the total up front and
    the end as total/total (the gguf package's reading: the total before its first tensor)."""
    path = tmp_path / "m.gguf"
    arrays = {f"blk.{i}.w": mx.ones((2, 3)) for i in range(5)}
    mx.save_gguf(str(path), arrays, {"general.architecture": "llama"})
    calls = []
    weights, _ = read_gguf(path, lambda done, total: calls.append((done, total)))
    assert len(weights) == 5
    assert calls and calls[-1] == (5, 5), calls
    assert {total for _, total in calls} == {5}, calls
    if importlib.util.find_spec("gguf"):  # read tensor by tensor: the total before the first
        calls.clear()
        read_with_gguf(path, lambda done, total: calls.append((done, total)))
        assert calls == [(i, 5) for i in range(6)], calls


@pytest.mark.parametrize("var", ["MLX_IFP_CACHE", "XDG_CACHE_HOME"])
def test_a_relative_cache_folder_is_made_absolute(tmp_path, monkeypatch, var):
    """``MLX_IFP_CACHE=rel`` gave ``rel/data/...``: ``eval`` without ``--data`` recorded that in
    its report, and a later reader in another folder looked elsewhere."""
    monkeypatch.delenv("MLX_IFP_CACHE", raising=False)
    monkeypatch.setenv(var, "rel")
    (tmp_path / "a").mkdir()
    monkeypatch.chdir(tmp_path / "a")
    folder = cache_dir("data")
    monkeypatch.chdir(tmp_path)
    assert str(folder).startswith(os.sep), folder
    assert folder.is_dir() and folder.resolve().is_relative_to((tmp_path / "a").resolve())


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("hleft")
    model = save_folder(tiny_model("llama"), root / "model")
    data = words_data(root / "data")
    rows = [{"prompt": f"t{i + 3} t{i + 40} t7", "completion": f"t{i + 9} t8 t{i + 60}"}
            for i in range(4)]  # fmt: skip
    (data / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return model, data


def test_quiet_finetune_test_keeps_its_score(world, tmp_path, capsys):
    """``finetune --test`` with ``quiet: true`` said nothing and wrote nothing of the test: the
    score was lost. It is in the run folder's test.json, whatever the output; a later save (a
    resumed run trained further without ``--test``) does not carry an earlier step's score."""
    model, data = world
    out = tmp_path / "o"
    args = ["--model", str(model), "--data", str(data), "-o", str(out), "--iters", "1"]
    args += ["--batch-size", "2", "--max-seq-length", "32", "--val-every", "0"]
    (quiet := tmp_path / "q.yaml").write_text("quiet: true\n")
    with pytest.raises(SystemExit) as e:
        main(["finetune", *args, "-c", str(quiet), "--test"])
    assert e.value.code == 0, capsys.readouterr().err[-1500:]
    said = json.loads((out / "test.json").read_text())
    assert said["step"] == 1 and said["ce"] > 0 and "kl" not in said, said  # no teacher: no KL
    assert said["ppl"] == pytest.approx(math.exp(said["ce"]), rel=1e-6)
    with pytest.raises(SystemExit) as e:
        main(["finetune", "--resume", str(out), "--iters", "2"])
    assert e.value.code == 0, capsys.readouterr().err[-1500:]
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["step"] == 2 and state["config"]["test"], state["config"]
    assert json.loads((out / "test.json").read_text())["step"] == 2  # scored again, not carried
    with pytest.raises(SystemExit) as e:
        main(["finetune", "--resume", str(out), "--iters", "3", "--no-test"])
    assert e.value.code == 0, capsys.readouterr().err[-1500:]
    assert not (out / "test.json").exists()
