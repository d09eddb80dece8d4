"""Review (s42): `eval`, `bench` and `plot` outputs as a user names them, and `eval`'s rows.

Each test failed on the code it was written against, for the reason in its docstring.

- `eval -o LINK` (`bench -o`, `plot -o`: a symbolic link to a file, e.g. `latest.json`): the
  link replaced by a regular file, its target left with the old report.
- `eval -o /dev/fd/N` (bash's `-o >(jq .)`, any pipe or device): accepted, then after the whole
  evaluation a `FileNotFoundError` traceback (the temporary file made in `/proc/self/fd`); as
  root, `-o /dev/stdout` or `/dev/null` would have been replaced by a regular file.
- `eval --adapter NAME=DIR` of a predictor with a static head (one learned mask for every
  input): its rows said `mode: input` (the table's per-task cells `-`, the quality plot's line
  "NAME per-input"), where every other source that reads no text is `static`, in both columns.
"""

import json
import os

import mlx_ifp
from mlx_ifp.cli import app
from mlx_ifp.sources.predictor import PredictorConfig, new_predictor, save_predictor, update_config

import mlx.core as mx
import pytest
from typer.testing import CliRunner


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def eval_flags(model, corpus):
    return ["eval", "--model", model, "--data", corpus, "--mask-sources", "full",
            "--domains", "math", "--limit", 1, "--gen-limit", 0]  # fmt: skip


def test_eval_output_through_a_link_writes_its_target(cli_world, tmp_path):
    """The link was replaced by a regular file; its target kept `{}`."""
    model, corpus = cli_world
    target = tmp_path / "runs" / "results.json"
    target.parent.mkdir()
    target.write_text("{}")
    link = tmp_path / "latest.json"
    link.symlink_to(target)
    run = cli(*eval_flags(model, corpus), "-o", link)
    assert run.exit_code == 0, run.output
    assert link.is_symlink()  # was a regular file
    assert json.loads(target.read_text())["results"][0]["source"] == "full"  # was {}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["latest.json", "runs"]


def test_plot_output_through_a_link_writes_its_target(cli_world, tmp_path):
    """`plot quality -o LINK`: the same, for a figure."""
    model, corpus = cli_world
    run = cli(*eval_flags(model, corpus), "-o", tmp_path / "r.json")
    assert run.exit_code == 0, run.output
    target = tmp_path / "figs" / "q.png"
    target.parent.mkdir()
    target.write_bytes(b"old")
    link = tmp_path / "q.png"
    link.symlink_to(target)
    run = cli("plot", "quality", "--report", tmp_path / "r.json", "-o", link)
    assert run.exit_code == 0, run.output
    assert link.is_symlink() and target.read_bytes().startswith(b"\x89PNG")


@pytest.mark.skipif(not os.path.isdir("/proc/self/fd"), reason="no /proc (Linux)")
@pytest.mark.parametrize("command", ["eval", "bench", "plot"])
def test_a_pipe_as_output_is_refused_before_the_work(cli_world, tmp_path, command):
    """`-o /dev/fd/N` (a pipe): a FileNotFoundError traceback after the whole evaluation."""
    model, corpus = cli_world
    read, write = os.pipe()
    try:
        out = f"/proc/self/fd/{write}"
        args = {
            "eval": [*eval_flags(model, corpus), "-o", out],
            "bench": ["bench", "--preset", "tiny", "--variants", "a", "-o", out],
            "plot": ["plot", "quality", "--report", tmp_path / "none.json", "-o", out],
        }[command]
        run = cli(*args)
    finally:
        os.close(read)
        os.close(write)
    assert run.exit_code == 2, run.output  # eval: 1, a traceback once the work was done
    assert f"Error: output {out} is a pipe or device, not a file: give a file path" in run.output
    assert "eval:" not in run.output and "Traceback" not in run.output  # before any work


def test_a_static_head_predictor_is_a_static_row(cli_world, tmp_path):
    """A static-head predictor's rows read `mode: input`, the per-task cells `-`."""
    from mlx_ifp.evaluation import table

    model, corpus = cli_world
    net, _ = mlx_ifp.load(str(model))
    pred = new_predictor(net, PredictorConfig(head="static"))
    pred.bias = mx.random.normal(pred.bias.shape, key=mx.random.key(3))
    save_predictor(pred, tmp_path / "run")
    update_config(tmp_path / "run", k=48, train="frozen")
    out = tmp_path / "r.json"
    run = cli(*eval_flags(model, corpus), "--adapter", f"learned={tmp_path / 'run'}", "-o", out)
    assert run.exit_code == 0, run.output
    report = json.loads(out.read_text())
    rows = [r for r in report["results"] if r["source"] == "learned"]
    assert [r["mode"] for r in rows] == ["static"]  # was "input"
    cells = {c.header: list(c._cells) for c in table(report).columns}
    at = cells["source"].index("learned")
    assert cells["ppl (task)"][at] == cells["ppl (input)"][at] != "-"  # task was "-"
