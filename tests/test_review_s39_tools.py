"""Review (s39): `mlx_ifp data build`, `export`, `plot overlap`, `bench` and `eval` as a user
runs them.

Each test failed on the code it was written against, for the reason in its docstring.

- `data build -o APP` of a folder holding a `manifest.json` (a web app's, a browser
  extension's), and `export -o PROJ` of one holding a `config.json` (any project's): both took
  the folder for their own output and **replaced it whole, deleting the user's files**. The
  marker of "a folder this command made" was a file name many projects share.
- `plot overlap --mask-source full` wrote overlaps of 2.00 (each shared channel counted against
  the `--keep` that the source ignores) and titled the figure "keep 0.50".
- `data build --model qwen2.5-coder-1.5b-instruct` without `--distill` (the model `--distill`
  answers with): built the corpus without a word that the flag did nothing.
- `mlx_ifp bench > run.json` and `mlx_ifp eval > report.json` (no `-o`): the JSON went to
  stdout with the rich tables after (bench) or before (eval) it, so the file was no JSON.
"""

import json

from mlx_ifp.cli import app

import pytest
from corpus import fake_corpus, fake_sources
from typer.testing import CliRunner


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def project(folder, marker: str):
    """A folder of the user's: a common JSON file name beside their source code."""
    (folder / "src").mkdir(parents=True)
    (folder / "src" / "app.py").write_text("print('mine')\n")
    (folder / marker).write_text('{"name": "my app"}\n')
    return folder


def test_data_build_keeps_a_folder_with_another_manifest(tmp_path, monkeypatch):
    fake_sources(tmp_path / "src", monkeypatch)
    app_dir = project(tmp_path / "webapp", "manifest.json")
    run = cli("data", "build", "-o", app_dir)
    assert run.exit_code == 2, run.output
    assert "folder of other files" in run.output
    assert (app_dir / "src" / "app.py").read_text() == "print('mine')\n"  # was deleted


def test_data_build_still_rebuilds_its_own_corpus(tmp_path, monkeypatch):
    out = fake_corpus(tmp_path, monkeypatch)
    (out / "domains" / "math" / "test.jsonl").write_text("")  # cut short: rebuilt
    run = cli("data", "build", "-o", out)
    assert run.exit_code == 0, run.output
    assert (out / "domains" / "math" / "test.jsonl").stat().st_size > 0


def test_data_build_refuses_model_without_distill(tmp_path, monkeypatch):
    fake_sources(tmp_path / "src", monkeypatch)
    run = cli("data", "build", "-o", tmp_path / "c", "--model", "qwen2.5-coder-1.5b-instruct")
    assert run.exit_code == 2, run.output  # was 0: built, the flag ignored
    assert "--model is the model --distill answers with" in run.output
    assert not (tmp_path / "c").exists()  # refused before the build
    assert cli("data", "build", "-o", tmp_path / "c").exit_code == 0


def test_export_keeps_a_folder_with_another_config(cli_world, tmp_path):
    import mlx_ifp

    model, _ = cli_world
    proj = project(tmp_path / "proj", "config.json")
    run = cli("export", "--model", model, "-o", proj, "--keep", "0.5")
    assert run.exit_code == 2, run.output
    assert "folder of other files" in run.output
    assert (proj / "src" / "app.py").is_file()  # was deleted: the folder replaced whole
    net, tok = mlx_ifp.load(str(model))
    with pytest.raises(mlx_ifp.UsageError, match="folder of other files"):
        mlx_ifp.export(net, tok, proj)
    assert (proj / "src" / "app.py").is_file()
    again = cli("export", "--model", model, "-o", tmp_path / "slim", "--keep", "0.5")
    assert again.exit_code == 0, again.output  # an earlier export is still replaced
    assert cli("export", "--model", model, "-o", tmp_path / "slim").exit_code == 0


def test_plot_overlap_of_full_masks_is_one(cli_world, tmp_path):
    model, corpus = cli_world
    out = tmp_path / "o.png"
    run = cli("plot", "overlap", "--model", model, "--data", corpus, "-o", out,
              "--mask-source", "full", "-n", "2", "--groups", "1")  # fmt: skip
    assert run.exit_code == 0, run.output
    numbers = json.loads(out.with_suffix(".json").read_text())
    values = [x for row in numbers["overlap"][0] for x in row]
    assert values == pytest.approx([1.0] * len(values))  # was 2.0: shared / (keep 0.5 * d)
    assert numbers["keep"] == 1.0  # was 0.5: the source keeps every channel


def test_bench_without_output_writes_only_json_to_stdout():
    run = CliRunner().invoke(app, ["bench", "--preset", "tiny", "--variants", "c", "--trials",
                                   "1", "--prompt-tokens", "8", "--gen-tokens", "2"])  # fmt: skip
    assert run.exit_code == 0, run.output
    result = json.loads(run.stdout)  # was "Extra data": the tables followed the JSON
    assert result["complete"] and result["runs"][0]["k"] == 64
    assert "decode tok/s" in run.stderr  # the tables are still shown


def test_eval_without_output_writes_only_json_to_stdout(cli_world):
    model, corpus = cli_world
    run = CliRunner().invoke(app, ["eval", "--model", str(model), "--data", str(corpus),
                                   "--domains", "math", "--mask-sources", "full,random",
                                   "--keep", "0.5", "--modes", "input", "--limit", "2",
                                   "--gen-limit", "0", "--max-len", "64"])  # fmt: skip
    assert run.exit_code == 0, run.output
    report = json.loads(run.stdout)  # was "Expecting value": the table came first
    assert {r["source"] for r in report["results"]} == {"full", "random"}
    assert "random" in run.stderr  # the table is still shown
