"""Review (s50): ``plot``, ``eval`` and ``info`` as a user runs them, and the training-curves tool
(tools/plot_training.py). Each test failed on the code it was written against, for the reason in
its docstring; all run on tiny random models (or none).

- ``-o -`` (the usual "stdout"): ``eval -o - | jq`` **wrote the JSON to a file named "-"** and
  printed the table to stdout, where jq read it; ``plot ... -o -`` wrote a PNG named "-" ("Wrote
  -"), as did ``bench -o -`` / ``--plot -`` and ``data build -o -`` (a folder "-").
- ``python tools/plot_training.py RUNS -o curves.svg`` **wrote PNG bytes under .svg** (its format
  was fixed to PNG); a folder with no run in it (a typo, a run still at its first step with no
  state yet) wrote an empty figure and said "Wrote".
"""

import json
import subprocess
import sys
from pathlib import Path

import mlx_ifp  # first: the optimized BLAS before mlx.core  # noqa: F401
from mlx_ifp import UsageError
from mlx_ifp.common import check_writable

import pytest
from test_review_s45_heval2 import cli, one_error  # (one CLI run, its one Error line)

TOOL = Path(__file__).resolve().parent.parent / "tools" / "plot_training.py"
REPORT = {
    "results": [
        {"domain": "math", "source": s, "mode": "input", "active_fraction": f, "ppl": p}
        for s, f, p in (("full", 1.0, 2.0), ("griffin", 0.7, 3.0))
    ]
}


# --- 1. -o - ------------------------------------------------------------------------------------


BENCH = ["bench", "--preset", "tiny", "--variants", "c", "--prompt-tokens", 8, "--gen-tokens", 2,
         "--trials", 1]  # fmt: skip


@pytest.mark.parametrize("command", ["eval", "bench"])
def test_dash_output_is_the_json_on_stdout(cli_world, tmp_path, monkeypatch, command):
    """``eval -o -`` (``bench -o -``): a file named "-" got the JSON, and stdout the table (jq
    read the table)."""
    model, corpus = cli_world
    monkeypatch.chdir(tmp_path)
    args = {
        "eval": ["eval", "--model", model, "--data", corpus, "--limit", 1, "--gen-limit", 0,
                 "--mask-sources", "full", "--domains", "math"],
        "bench": BENCH,
    }[command]  # fmt: skip
    run = cli(*args, "-o", "-")
    assert run.exit_code == 0, run.output
    assert not (tmp_path / "-").exists()
    assert isinstance(json.loads(run.stdout), dict)  # stdout: the JSON alone


@pytest.mark.parametrize("command", ["plot", "bench-plot"])
def test_a_dash_output_file_is_refused_not_written_as_a_file_named_dash(
    tmp_path, monkeypatch, command
):
    """``plot quality ... -o -``: "Wrote -", a PNG named "-" in the current folder."""
    monkeypatch.chdir(tmp_path)
    report = tmp_path / "r.json"
    report.write_text(json.dumps(REPORT))
    args = {
        "plot": ["plot", "quality", "--report", report, "-o", "-"],
        "bench-plot": [*BENCH, "--plot", "-"],
    }[command]
    assert "output - " in one_error(cli(*args))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["r.json"]  # nothing written


@pytest.mark.parametrize("folder", [False, True])
def test_check_writable_refuses_a_dash(tmp_path, monkeypatch, folder):
    """``data build -o -`` (any folder output too): a folder named "-", minutes of build later."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(UsageError, match="output - is not stdout here"):
        check_writable("-", folder=folder)
    assert not any(tmp_path.iterdir())


def test_a_file_named_dash_is_still_written_as_dot_slash_dash(tmp_path, monkeypatch):
    """(guard) ``-o ./-`` names that file plainly: written, as before."""
    monkeypatch.chdir(tmp_path)
    report = tmp_path / "r.json"
    report.write_text(json.dumps(REPORT))
    run = cli("plot", "quality", "--report", report, "-o", "./-")
    assert run.exit_code == 0, run.output
    assert (tmp_path / "-").read_bytes()[:4] == b"\x89PNG"


# --- 2. tools/plot_training.py -----------------------------------------------------------------


def _run_folder(root: Path) -> Path:
    folder = root / "runs"
    folder.mkdir()
    state = {"step": 3, "history": [3.0, 2.0, 1.0], "val": [[3, 2.0, 0.9]], "config": {}}
    (folder / "arm-stage1.trainer_state.json").write_text(json.dumps(state))
    return folder


def _tool(*args):
    return subprocess.run([sys.executable, str(TOOL), *map(str, args)], capture_output=True,
                          text=True, timeout=300)  # fmt: skip


@pytest.mark.parametrize("suffix, magic", [(".svg", b"<?xml"), (".pdf", b"%PDF")])
def test_training_curves_are_written_in_the_format_of_the_suffix(tmp_path, suffix, magic):
    """``-o curves.svg``: PNG bytes in a file named .svg (format="png" whatever the name)."""
    out = tmp_path / f"curves{suffix}"
    run = _tool(_run_folder(tmp_path), "-o", out)
    assert run.returncode == 0, run.stderr
    assert out.read_bytes().startswith(magic)


def test_training_curves_of_a_folder_without_runs_is_refused(tmp_path):
    """A folder holding no ``*-stage*`` state or log: an empty figure, "Wrote"."""
    (tmp_path / "empty").mkdir()
    out = tmp_path / "c.png"
    run = _tool(tmp_path / "empty", "-o", out)
    assert run.returncode == 2, run.stderr
    assert "Traceback" not in run.stderr and "no training run" in run.stderr
    assert not out.exists()


def test_training_curves_of_a_run_at_step_zero_is_refused(tmp_path):
    """A run just started (its log has no step yet): an empty figure, "Wrote"."""
    (tmp_path / "runs").mkdir()
    (tmp_path / "runs" / "arm-stage1.log").write_text("loading the model...\n")
    out = tmp_path / "c.png"
    run = _tool(tmp_path / "runs", "-o", out)
    assert run.returncode == 2, run.stderr
    assert run.stderr.strip() == (
        "Error: nothing to draw yet: runs/arm logged no loss, validation or probe step"
    )
    assert not out.exists()


# --- 3. NaN in an eval report --------------------------------------------------------------------


def _nan_report(path: Path, values) -> Path:
    kinds = zip(("full", "griffin", "griffin"), (1.0, 0.7, 0.4), values, strict=True)
    rows = [{"domain": "math", "source": s, "mode": "input", "active_fraction": f, "ppl": p}
            for s, f, p in kinds]  # fmt: skip
    path.write_text(json.dumps({"results": rows}))  # (NaN as Python writes it: `NaN`)
    return path


def test_a_report_of_only_nan_values_is_refused(tmp_path):
    """A diverged model's report (every ppl NaN, e.g. a float16 overflow): "Wrote q.png", an
    empty figure whose legend named lines that were not there."""
    report = _nan_report(tmp_path / "r.json", [float("nan"), float("nan"), float("inf")])
    out = tmp_path / "q.png"
    assert "all NaN or infinite" in one_error(cli("plot", "quality", "--report", report, "-o", out))
    assert not out.exists()


def test_nan_values_left_out_are_said_in_the_domain_title(tmp_path, monkeypatch):
    """One NaN among the rows: a gap in the line, nothing said of why."""
    from mlx_ifp.evaluation import plots

    report = _nan_report(tmp_path / "r.json", [2.0, 3.0, float("nan")])
    titles = []
    monkeypatch.setattr(plots, "_save", lambda fig, path: titles.extend(
        ax.get_title() for ax in fig.axes))  # fmt: skip
    plots.plot_quality(json.loads(report.read_text()), tmp_path / "q.png")
    assert titles == ["math (1 NaN/inf not drawn)"]
