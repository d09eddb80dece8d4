"""Review (s39, more leads): `export`, `plot`, `eval` and `data build` as a user runs them.

Each test failed on the code it was written against, for the reason in its docstring.

- `export --mask-source static --task T` (or `-p`, or random): the text silently ignored (the
  source reads none: the mask is the same without it).
- `plot overlap` wrote its JSON sidecar before it drew the figure: a figure that failed left
  the new numbers beside the old figure (or none).
- `data build --distill 100000` distilled the few training prompts the corpus has, without a
  word.
- `plot overlap --data /nonexistent` and `eval --data /nonexistent`: "has no test items for
  any domain (run `mlx_ifp data build`)", not that the folder is not there.
- `plot quality -o ''`: "output . is a folder: give a file path".
- `export -o LINK` (a link to a folder): the link replaced by a real folder (its target kept the
  old files) and the link left behind as `.LINK.old<pid>`.
"""

import json
import re

from mlx_ifp.cli import app
from mlx_ifp.data import corpus as data

import pytest
from corpus import fake_corpus
from typer.testing import CliRunner


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.mark.parametrize(
    "source,text", [("static", ["--task", "math"]), ("random", ["--prompt", "Add 2 and 3."])]
)
def test_export_refuses_text_a_source_does_not_read(cli_world, tmp_path, source, text):
    model, _ = cli_world
    run = cli("export", "--model", model, "-o", tmp_path / "o", "--mask-source", source, *text)
    assert run.exit_code == 2, run.output  # was 0: the text ignored
    assert f"--mask-source {source} reads no text: leave out {text[0]}" in run.output
    assert not (tmp_path / "o").exists()


def test_plot_overlap_writes_no_sidecar_when_the_figure_fails(cli_world, tmp_path, monkeypatch):
    import mlx_ifp.evaluation

    def fails(result, path):
        raise RuntimeError("drawing failed")

    monkeypatch.setattr(mlx_ifp.evaluation, "plot_overlap", fails)
    model, corpus = cli_world
    out = tmp_path / "o.png"
    run = cli("plot", "overlap", "--model", model, "--data", corpus, "-o", out,
              "--mask-source", "full", "-n", "2", "--groups", "1")  # fmt: skip
    assert isinstance(run.exception, RuntimeError), run.output
    assert not out.with_suffix(".json").exists()  # was written: numbers without their figure
    assert [p.name for p in tmp_path.iterdir()] == []


def test_distill_past_the_training_prompts_says_so(cli_world, tmp_path, monkeypatch):
    model, corpus = cli_world
    monkeypatch.setattr(data, "greedy_tokens", lambda *a, **k: ([111, 107], True))  # fast: "ok"
    fake_corpus(tmp_path, monkeypatch)
    run = CliRunner().invoke(app, ["data", "build", "-o", str(tmp_path / "corpus"),
                                   "--model", str(model), "--distill", "100000"])  # fmt: skip
    assert run.exit_code == 0, run.output
    said = re.search(r"Warning: distilling all (\d+) training prompts of the corpus "
                     r"\(fewer than the 100000 asked for\)", run.stderr)  # fmt: skip
    assert said, run.stderr  # was silent
    rows = (tmp_path / "corpus" / "distill" / "train.jsonl").read_text().splitlines()
    assert len(rows) == int(said[1])


@pytest.mark.parametrize("command", ["plot", "eval"])
def test_missing_data_folder_is_named(cli_world, tmp_path, command):
    model, _ = cli_world
    missing = tmp_path / "nonexistent"
    args = ["overlap", "-o", tmp_path / "o.png"] if command == "plot" else ["--limit", "2"]
    run = cli(command, *args, "--model", model, "--data", missing)
    assert run.exit_code == 2, run.output
    assert f"--data {missing}: the corpus folder does not exist" in run.output  # "no test items"
    (tmp_path / "file").write_text("x")
    run = cli(command, *args, "--model", model, "--data", tmp_path / "file")
    assert run.exit_code == 2 and "is a file, not a folder" in run.output, run.output


def test_plot_with_empty_output_says_so(tmp_path):
    report = tmp_path / "r.json"
    report.write_text(json.dumps({"results": []}))
    run = cli("plot", "quality", "--report", report, "-o", "")
    assert run.exit_code == 2, run.output
    assert "--output is empty" in run.output  # was "output . is a folder"


def test_export_into_a_link_writes_its_target(cli_world, tmp_path):
    model, _ = cli_world
    target = tmp_path / "disk" / "slim"
    target.mkdir(parents=True)
    link = tmp_path / "slim"
    link.symlink_to(target, target_is_directory=True)
    for _ in range(2):  # a fresh folder, then an earlier export replaced
        run = cli("export", "--model", model, "-o", link)
        assert run.exit_code == 0, run.output
        assert link.is_symlink()  # was replaced by a real folder
        assert (target / "model.safetensors").is_file()  # was empty: written beside it
        assert sorted(p.name for p in tmp_path.iterdir()) == ["disk", "slim"]  # .slim.old<pid>
        assert [p.name for p in target.parent.iterdir()] == ["slim"]
