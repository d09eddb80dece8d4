"""Review (s45, second pass): the measuring commands ``eval``, ``bench`` and ``plot``, what they
write and what they show while they run.

- ``plot quality ... -o q.png/`` (likewise ``eval -o r.json/``, ``bench -o b.json/``,
  ``export --format gguf -o slim.gguf/``): a trailing slash names a folder, yet each **wrote a
  file** ``q.png`` where the folder would be, where ``generate --save-mask masks/`` is refused.
- ``eval``'s table showed keep to 2 decimals and no ``k``: 128 and 129 of 256 channels both read
  "0.50"; and it keyed its rows by the JSON's ``keep`` (rounded to 4 decimals), so on an FFN wider
  than 10,000 channels two adjacent counts **merged into one line**, one of them lost.
- ``bench --trials 1``: the JSON said ``trials: 1`` (the table "median of 1") while the
  alternating trials of (a), (c), (f) and (h), which the interleaved ratios come from, ran 3
  times: nothing recorded what ran.
- ``eval --gen-limit N``: while the replies were generated (most of a run's time), the progress
  still showed the scoring step's label.
- ``plot ... -o fig.eps`` (or ``.ps``): matplotlib's "The PostScript backend does not support
  transparency" line on stderr, for the grid's alpha, the figure written all the same.

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import json
import logging

import mlx_ifp  # first: the optimized BLAS before mlx.core  # noqa: F401
from mlx_ifp.bench import bench
from mlx_ifp.cli import app
from mlx_ifp.common import Progress
from mlx_ifp.evaluation import plots, table
from mlx_ifp.evaluation import run as ev

import pytest
from typer.testing import CliRunner

REPORT = {
    "results": [
        {"domain": "math", "source": s, "mode": "input", "active_fraction": f, "ppl": p}
        for s, f, p in (("full", 1.0, 2.0), ("griffin", 0.7, 3.0))
    ]
}
EVAL = "--limit 1 --gen-limit 0 --mask-sources full --domains math"
EXPORT = "--keep 0.5 --mask-source static"
BENCH = "--preset tiny --variants c --prompt-tokens 8 --gen-tokens 2"
QUIET = dict(prompt_tokens=8, gen_tokens=2, log=lambda s: None)


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def one_error(run) -> str:
    assert run.exit_code == 2, run.output
    lines = run.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: "), run.output
    return lines[0]


@pytest.mark.parametrize("command", ["plot", "eval", "bench", "export"])
def test_an_output_file_with_a_trailing_slash_is_refused(cli_world, tmp_path, command):
    """``-o q.png/``: "Wrote q.png" (a file named as the folder), exit 0."""
    model, corpus = cli_world
    report = tmp_path / "r.json"
    report.write_text(json.dumps(REPORT))
    name = {"plot": "q.png", "eval": "e.json", "bench": "b.json", "export": "slim.gguf"}[command]
    out = f"{tmp_path / name}/"
    args = {
        "plot": ["plot", "quality", "--report", report],
        "eval": ["eval", "--model", model, "--data", corpus, *EVAL.split()],
        "bench": ["bench", *BENCH.split()],
        "export": ["export", "--model", model, *EXPORT.split(), "--format", "gguf"],
    }[command]
    assert f"{name}/ is a folder: give a file path" in one_error(cli(*args, "-o", out))
    assert [p.name for p in tmp_path.iterdir()] == ["r.json"]  # nothing written


def test_a_model_folder_export_still_takes_a_trailing_slash(cli_world, tmp_path):
    """A folder output (``export -o slim.gguf/``: an MLX folder, by its slash) takes it."""
    model, _ = cli_world
    run = cli("export", "--model", model, *EXPORT.split(), "-o", f"{tmp_path / 'slim.gguf'}/")
    assert run.exit_code == 0, run.output
    assert (tmp_path / "slim.gguf" / "config.json").is_file()


def _row(k, d):
    row = {"domain": "math", "source": "griffin", "mode": "input", "ppl": 2.0, "kl": 0.1}
    return {**row, "top1": 0.9, "keep": round(k / d, 4), "k": k, "active_fraction": k / d}


def test_eval_rows_of_adjacent_counts_on_a_wide_ffn_stay_apart():
    """k 10,000 and 10,001 of 20,000 channels: one JSON keep (0.5), so the table had one line
    (the second row's cells under the first one's keep)."""
    report = {"results": [_row(10_000, 20_000), _row(10_001, 20_000)]}
    lines = plots.rows_of(report)
    assert len(lines) == 2, lines
    assert ["10000", "10001"] == [cells[plots.HEADER.index("k")] for cells in lines]
    assert len(plots.markdown(report).splitlines()) == 4


def test_eval_table_shows_the_channels_kept(cli_world):
    """``--keep 128 --keep 129`` of 256 channels: two lines both reading keep "0.50", no k."""
    from corpus import ByteTokenizer
    from tiny import tiny_model

    _, corpus = cli_world
    cfg = ev.EvalConfig(domains=("math",), sources=("static",), keeps=(128, 129), limit=1,
                        gen_limit=0)  # fmt: skip
    net = tiny_model("llama", intermediate_size=256)
    report = ev.evaluate(net, ByteTokenizer(), corpus, cfg, progress=False)
    cells = {c.header: list(c._cells) for c in table(report).columns}
    assert cells["keep"] == ["0.50", "0.50"] and cells["k"] == ["128", "129"], cells


def test_bench_records_the_alternating_trials_that_ran():
    """``trials=1``: the JSON said 1, while (a), (c), (f) alternated 3 times."""
    out = bench(preset="tiny", keeps=(0.5,), variants="ac", trials=1, **QUIET)
    ran = {len(x["all"]) for x in out["runs"][0]["interleaved"].values()}
    assert out["trials"] == 1 and ran == {3}
    assert out["alternating_trials"] == 3  # was: no such key
    out = bench(preset="tiny", keeps=(0.5,), variants="ac", trials=4, **QUIET)
    assert out["alternating_trials"] == 4 == len(out["runs"][0]["interleaved"]["c"]["all"])


def test_bench_table_says_the_alternating_trials(tmp_path):
    """The title said "median of 1" above the interleaved ratios, each a median of 3."""
    run = cli("bench", "--preset", "tiny", "--variants", "ac", "--prompt-tokens", 8,
              "--gen-tokens", 2, "--trials", 1, "-o", tmp_path / "b.json")  # fmt: skip
    assert run.exit_code == 0, run.output
    assert "median of 1, alternating trials 3" in " ".join(run.output.split())


def test_eval_progress_says_replies_are_being_generated(cli_world, monkeypatch):
    """``--gen-limit 1``: the generation ran under "math: full k=96 per-input", the scoring
    step's label."""
    model, corpus = cli_world
    said = []
    describe = Progress.describe
    monkeypatch.setattr(Progress, "describe", lambda s, t: (said.append(t), describe(s, t)))
    generate = ev.generate_replies
    monkeypatch.setattr(ev, "generate_replies", lambda *a, **k: (said.append("GEN"),
                        generate(*a, **k))[1])  # fmt: skip
    run = cli("eval", "--model", model, "--data", corpus, "--limit", 2, "--gen-limit", 1,
              "--max-tokens", 2, "--mask-sources", "full", "--domains", "math")  # fmt: skip
    assert run.exit_code == 0, run.output
    at = said.index("GEN")
    assert "generating replies" in said[at - 1], said
    assert "generating" not in said[0] and "scoring" in said[0], said


@pytest.mark.parametrize("command", ["plot", "bench"])
@pytest.mark.parametrize("suffix", ["eps", "ps"])
def test_a_postscript_figure_is_written_without_matplotlibs_note(tmp_path, caplog, command, suffix):
    """``-o fig.eps``: "The PostScript backend does not support transparency; partially
    transparent artists will be rendered opaque." on stderr (the grid's alpha)."""
    report = tmp_path / "r.json"
    report.write_text(json.dumps(REPORT))
    fig = tmp_path / f"fig.{suffix}"
    args = {
        "plot": ["plot", "quality", "--report", report, "-o", fig],
        "bench": ["bench", *BENCH.split(), "--trials", 1, "--plot", fig],
    }[command]
    with caplog.at_level(logging.WARNING):  # matplotlib's logger (no handler: stderr)
        run = cli(*args)
    assert run.exit_code == 0, run.output
    assert fig.read_bytes().startswith(b"%!PS")
    assert not [r for r in caplog.records if "transparency" in r.getMessage()]
