"""Leftovers of the thirty-second session's review: input that was read as something else or
refused only after the slow work. Each refusal is one `Error:` line and exit code 2."""

import json

import mlx_ifp.data

import pytest
from bad_world import never_called, no_model_load, one_error
from test_review_s32_cli import cli


def test_info_with_an_empty_model_is_refused():
    """`info --model "$M"` with M unset printed the machine's info and exit 0, as if no model
    had been asked for."""
    assert "--model is empty" in one_error(cli("info", "--model", ""))


@pytest.mark.parametrize(
    ("flag", "value", "says"),
    [("--keep", "0", "--keep must be > 0"), ("--groups", "0", "--groups")],
)
def test_plot_overlap_refuses_bad_numbers_before_the_corpus_and_the_model(
    monkeypatch, tmp_path, flag, value, says
):
    no_model_load(monkeypatch)
    monkeypatch.setattr(mlx_ifp.data, "build", never_called)
    run = cli("plot", "overlap", "-o", tmp_path / "o.png", flag, value)
    assert says in one_error(run)
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------ finetune --resume with another batch shape


def test_a_run_resumed_with_more_gradient_accumulation_reads_on_from_where_it_stopped(
    monkeypatch, tmp_path
):
    """Resumed with another --grad-accumulation, a run read batches by step x accumulation: at
    step 3 of batch 4, accumulation 2 jumped to row 24 and skipped rows 12-23 unseen."""
    import mlx_ifp.train.batches as batches
    from mlx_ifp.train import finetune

    from test_finetune import Tok, cfg_for, make_data
    from tiny import tiny_model

    seen, collate = [], batches.collate
    monkeypatch.setattr(batches, "collate", lambda ex, *a: seen.extend(ex) or collate(ex, *a))
    data = make_data(tmp_path / "d")  # 24 rows
    finetune(cfg_for(data, tmp_path / "a", iters=7), tiny_model("llama"), Tok())  # 28 rows
    straight, seen[:] = [e.tokens for e in seen], []
    finetune(cfg_for(data, tmp_path / "b", iters=3), tiny_model("llama"), Tok())  # 12 rows
    more = dict(iters=5, grad_accumulation=2, resume=str(tmp_path / "b"))  # and 16 more
    finetune(cfg_for(data, tmp_path / "b", **more), tiny_model("llama"), Tok())
    assert [e.tokens for e in seen] == straight


def test_a_run_resumed_from_another_folder_reads_and_writes_where_it_started(tmp_path):
    """The checkpoint kept the paths as typed: `--resume ../a/out` from another folder looked
    for the model and data there, and would have written a new `out` beside them."""
    from test_finetune import make_data
    from tiny import save_folder, tiny_model

    a, b = tmp_path / "a", tmp_path / "b"
    b.mkdir()
    save_folder(tiny_model("llama"), a / "model")
    make_data(a / "data")
    start = ["--model", "model", "--data", "data", "-o", "out", "--batch-size", "4"]
    run = cli("finetune", *start, "--iters", "2", "--val-every", "0", cwd=a)
    assert run.returncode == 0, run.stderr
    run = cli("finetune", "--resume", "../a/out", "--iters", "3", cwd=b)
    assert run.returncode == 0, run.stderr
    assert json.loads((a / "out" / "trainer_state.json").read_text())["step"] == 3
    assert list(b.iterdir()) == []
