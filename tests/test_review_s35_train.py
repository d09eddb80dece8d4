"""`mlx_ifp finetune --resume` of a copied checkpoint folder (thirty-fifth session).

- `--resume COPY` without `-o` wrote to the output recorded in the copy's state: the folder it
  was copied from, so continuing a copy (to try another learning rate, say) replaced the
  original run. Without `-o` a resumed run now writes where it was resumed from; `-o` still wins.
- `--resume --seed N` with another seed was accepted: the batches are a function of the seed and
  the data position, so the rest of the epoch came in another order (rows seen twice, others
  never) and the run was no longer the one resumed. The seed is now one of the settings a
  resumed run must keep.
"""

import json

import mlx_ifp.train
from mlx_ifp import UsageError
from mlx_ifp.cli import app
from mlx_ifp.train import finetune

import pytest
from test_finetune import Tok, cfg_for, make_data
from tiny import tiny_model
from typer.testing import CliRunner


def checkpoint(folder, output):
    folder.mkdir(parents=True)
    state = {"step": 3, "history": [], "config": {"data": str(folder), "output": str(output)}}
    (folder / "trainer_state.json").write_text(json.dumps(state))
    return folder


def resumed(tmp_path, monkeypatch, *flags):
    seen = []
    monkeypatch.setattr(mlx_ifp.train, "finetune", lambda cfg: seen.append(cfg) or tmp_path)
    original = tmp_path / "run1"
    copy = checkpoint(tmp_path / "run2", output=original)
    run = CliRunner().invoke(app, ["finetune", "--resume", str(copy), *flags])
    assert run.exit_code == 0, run.output
    return seen[0], copy


def test_a_resumed_copy_writes_where_it_was_resumed_from(tmp_path, monkeypatch):
    cfg, copy = resumed(tmp_path, monkeypatch)
    assert cfg.output == str(copy)


def test_output_given_with_resume_still_wins(tmp_path, monkeypatch):
    cfg, _ = resumed(tmp_path, monkeypatch, "-o", str(tmp_path / "run3"))
    assert cfg.output == str(tmp_path / "run3")


def test_another_seed_on_resume_is_refused(tmp_path):
    data = make_data(tmp_path / "d")
    out = tmp_path / "b"
    finetune(cfg_for(data, out, iters=2), tiny_model("llama"), Tok())
    with pytest.raises(UsageError, match="seed"):
        finetune(cfg_for(data, out, iters=3, resume=str(out), seed=5), tiny_model("llama"), Tok())
    finetune(cfg_for(data, out, iters=3, resume=str(out)), tiny_model("llama"), Tok())
