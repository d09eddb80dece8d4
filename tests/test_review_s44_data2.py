"""`data build`, `plot quality` and `info` (forty-fourth session, found by review): a second
`--distill` of other settings replaced hours of replies; a broken `dict-gcide` (an index without
its text) a traceback; a missing shipped `general.jsonl.gz` or a reused corpus without prose said
nothing; the quality plot's x label named a "source"; `info` made the cache folder and showed
OpenBLAS threads under the reference BLAS."""

import json

import mlx_ifp
from mlx_ifp.cli import app
from mlx_ifp.common import UsageError
from mlx_ifp.data import corpus as data
from mlx_ifp.evaluation.plots import plot_quality

import pytest
from corpus import ByteTokenizer, fake_corpus, fake_sources
from tiny import tiny_model
from typer.testing import CliRunner


def _replies(monkeypatch) -> list:
    """Count the replies generated (each a one-token reply that ended)."""
    made = []
    monkeypatch.setattr(data, "greedy_tokens", lambda *a, **k: made.append(1) or ([5], True))
    return made


def test_distilling_again_with_other_settings_is_refused_and_the_same_settings_reuse(
    tmp_path, monkeypatch
):
    """A second `data build --distill N` (another N or --model) replaced the earlier replies."""
    folder = fake_corpus(tmp_path, monkeypatch)
    made, model, tok = _replies(monkeypatch), tiny_model("llama"), ByteTokenizer()
    path = data.distill(folder, model, tok, 3, "tiny", max_tokens=5)
    before = path.read_bytes()
    for n, name in ((5, "tiny"), (3, "other")):
        with pytest.raises(UsageError, match=r"holds 3 replies by dense:tiny.*--force") as e:
            data.distill(folder, model, tok, n, name, max_tokens=5)
        assert "\n" not in str(e.value)
    assert len(made) == 3 and path.read_bytes() == before
    assert data.distill(folder, model, tok, 3, "tiny", max_tokens=5) == path  # reused
    assert len(made) == 3
    data.distill(folder, model, tok, 5, "tiny", max_tokens=5, force=True)
    assert len(made) == 8 and len(path.read_text().splitlines()) == 5


def test_the_cli_refuses_another_distill_before_loading_the_model(tmp_path, monkeypatch):
    fake_sources(tmp_path / "src", monkeypatch)
    made, loads = _replies(monkeypatch), []
    monkeypatch.setattr(mlx_ifp, "check_model", lambda name: None)
    load = lambda name: loads.append(name) or (tiny_model("llama"), ByteTokenizer())  # noqa: E731
    monkeypatch.setattr(mlx_ifp, "load", load)
    out = str(tmp_path / "corpus")
    run = lambda *a: CliRunner().invoke(app, ["data", "build", "-o", out, *a])  # noqa: E731
    assert run("--distill", "2", "--model", "tiny").exit_code == 0
    again = run("--distill", "2", "--model", "tiny")  # the same settings: nothing to do
    assert again.exit_code == 0 and loads == ["tiny"] and len(made) == 2
    other = run("--distill", "4", "--model", "tiny")
    assert other.exit_code == 2 and loads == ["tiny"], other.output
    assert "holds 2 replies by dense:tiny" in other.output and "--force" in other.output
    assert run("--distill", "4", "--model", "tiny", "--force").exit_code == 0
    assert loads == ["tiny", "tiny"] and len(made) == 6


def test_a_gcide_index_without_its_text_is_a_missing_source_not_a_traceback(
    tmp_path, monkeypatch, capsys
):
    """A broken `dict-gcide` (gcide.index, no gcide.dict.dz): FileNotFoundError traceback."""
    fake_sources(tmp_path / "src", monkeypatch)
    base = tmp_path / "dictd" / "gcide"
    base.parent.mkdir()
    base.with_suffix(".index").write_text("00databaseurl\tA\tB\nabacus\tA\tZ\n")
    monkeypatch.setattr(data, "GCIDE", base)
    assert "dict-gcide" in data.missing_debian()
    folder = data.build(tmp_path / "corpus", verbose=True)
    assert "dict-gcide" in capsys.readouterr().err
    assert "gcide" not in json.loads((folder / "manifest.json").read_text())["counts"]
    with pytest.raises(UsageError, match=r"cannot read .*gcide\.dict\.dz.*--reinstall"):
        data.read_gcide(base, 5, 0, 100).__next__()  # read anyway: one line


def test_a_missing_shipped_general_file_is_said(tmp_path, monkeypatch, capsys):
    fake_sources(tmp_path / "src", monkeypatch)
    monkeypatch.setenv("COLUMNS", "500")  # rich folds a long path at its width
    monkeypatch.setattr(data, "GENERAL", tmp_path / "gone" / "general.jsonl.gz")
    data.build(tmp_path / "corpus", verbose=True)
    err = capsys.readouterr().err
    assert "No general domain" in err and "general.jsonl.gz" in err and "reinstall" in err
    with pytest.raises(UsageError, match="cannot read .*general.jsonl.gz"):
        list(data.read_general(tmp_path / "gone" / "general.jsonl.gz"))


def test_a_reused_corpus_without_prose_says_so_again(tmp_path, monkeypatch, capsys):
    fake_sources(tmp_path / "src", monkeypatch)
    monkeypatch.setattr(data, "FORTUNES", tmp_path / "absent")  # no prose package at all
    first = data.build(tmp_path / "corpus", verbose=True)
    assert "No English prose" in capsys.readouterr().err
    assert data.build(tmp_path / "corpus", verbose=True) == first  # reused
    assert "No English prose" in capsys.readouterr().err
    data.build(tmp_path / "corpus", verbose=False)
    assert capsys.readouterr().err == ""


def test_the_quality_plot_x_label_names_the_whole_model_not_a_source(tmp_path, monkeypatch):
    from matplotlib.axes import Axes

    labels, real = [], Axes.set_xlabel
    monkeypatch.setattr(Axes, "set_xlabel", lambda ax, s, *a, **k: labels.append(s) or real(ax, s))
    row = {"domain": "math", "source": "full", "mode": "static", "active_fraction": 1.0}
    rows = [{**row, "ppl": 3.0}, {**row, "source": "griffin", "active_fraction": 0.7, "ppl": 5.0}]
    plot_quality({"results": rows}, tmp_path / "q.png")
    assert labels and all("source" not in s and "whole model" in s for s in labels), labels


def test_info_writes_no_cache_folder_and_no_openblas_threads_under_reference_blas(
    tmp_path, monkeypatch
):
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "7")
    monkeypatch.setattr(mlx_ifp.models, "blas_status", lambda: "reference (MLX_IFP_BLAS=none)")
    run = CliRunner().invoke(app, ["info"], env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output
    assert not (tmp_path / "cache").exists()
    rows = dict(line.split(None, 1) for line in run.stdout.splitlines() if line[:1] != " ")
    assert rows["cache"].startswith(str(tmp_path / "cache")) and "not made yet" in rows["cache"]
    threads = next(line for line in run.stdout.splitlines() if line.startswith("blas threads"))
    assert "7" not in threads and "reference" in threads
