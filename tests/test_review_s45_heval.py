"""Review (s45): the measuring commands ``eval``, ``bench``, ``plot`` and ``info`` as a user runs
them, against the project's rule that a measurement is JSON plus a table, side by side.

- ``eval --keep 0.5 --keep 0.25`` (the way ``bench`` takes a sweep, as the README shows it), and
  likewise a repeated ``--domains``, ``--mask-sources`` or ``--modes``: typer kept the last one,
  **the others dropped without a word** (one budget, one domain evaluated).
- ``bench --keep 0.5,0.25`` (the way ``eval`` takes a sweep): refused, the two commands' one flag
  taking its list two ways.
- ``bench --preset bogus``: a status line ("building the random-weight bogus model") before the
  error, where a bad flag is one ``Error:`` line.
- ``plot ... -o fig.pgf`` (``bench --plot fig.pgf``), a format matplotlib lists but writes only
  through a TeX program: accepted, then a ``RuntimeError`` traceback ("'xelatex' not found")
  after the whole run where no TeX is installed.
- ``eval -o report.json | head``: the table goes to stdout, and printing it was done before the
  report was written, so a closed pipe (``BrokenPipeError``) **lost the report** of a long run.

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import json

import mlx_ifp  # first: the optimized BLAS before mlx.core  # noqa: F401
from mlx_ifp.cli import app

import pytest
from typer.testing import CliRunner


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


def eval_flags(model, corpus):
    return ["eval", "--model", model, "--data", corpus, "--limit", 1, "--gen-limit", 0]


def rows(path):
    return json.loads(path.read_text())["results"]


def test_eval_takes_repeated_keeps_and_domains(cli_world, tmp_path):
    """``--keep 0.5 --keep 0.25 --domains math --domains code``: only keep 0.25 on code ran."""
    model, corpus = cli_world
    out = tmp_path / "r.json"
    run = cli(*eval_flags(model, corpus), "--mask-sources", "static", "--keep", "0.5",
              "--keep", "0.25", "--domains", "math", "--domains", "code", "-o", out)  # fmt: skip
    assert run.exit_code == 0, run.output
    got = {(r["domain"], r["keep"]) for r in rows(out)}
    assert got == {("math", 0.5), ("math", 0.25), ("code", 0.5), ("code", 0.25)}


def test_eval_takes_repeated_mask_sources_and_modes(cli_world, tmp_path):
    """``--mask-sources full --mask-sources griffin --modes input --modes task``: griffin per
    task alone; comma lists still work beside repeats, and ``both`` in a repeat too."""
    model, corpus = cli_world
    out = tmp_path / "r.json"
    run = cli(*eval_flags(model, corpus), "--domains", "math", "--keep", "0.5",
              "--mask-sources", "full", "--mask-sources", "griffin,random",
              "--modes", "input", "--modes", "task", "-o", out)  # fmt: skip
    assert run.exit_code == 0, run.output
    got = {(r["source"], r["mode"]) for r in rows(out)}
    assert got == {("full", "static"), ("random", "static"), ("griffin", "input"),
                   ("griffin", "task")}  # fmt: skip
    run = cli(*eval_flags(model, corpus), "--domains", "math", "--keep", "0.5", "--mask-sources",
              "griffin", "--modes", "both", "--modes", "input", "-o", out)  # fmt: skip
    assert run.exit_code == 0, run.output
    assert {r["mode"] for r in rows(out)} == {"input", "task"}


def test_bench_takes_a_comma_separated_keep_list(tmp_path):
    """``bench --keep 0.5,0.25``: "--keep must be a fraction ... got '0.5,0.25'"."""
    out = tmp_path / "b.json"
    run = cli("bench", "--preset", "tiny", "--keep", "0.5,0.25", "--keep", "16", "--variants", "c",
              "--prompt-tokens", 8, "--gen-tokens", 2, "--trials", 1, "-o", out)  # fmt: skip
    assert run.exit_code == 0, run.output
    assert [r["keep"] for r in json.loads(out.read_text())["runs"]] == [0.5, 0.25, 16]


def test_bench_refuses_an_unknown_preset_in_one_line():
    """``--preset bogus``: "[0.0s] building the random-weight bogus model", then the error."""
    run = cli("bench", "--preset", "bogus", "--variants", "a")
    assert run.exit_code == 2, run.output
    assert run.output.strip().splitlines() == [
        "Error: unknown preset 'bogus' (choose from 135m, 1.5b, 1b, 3b, 8b, tiny)"
    ]


REPORT = {
    "results": [
        {"domain": "math", "source": s, "mode": "input", "active_fraction": f, "ppl": p}
        for s, f, p in (("full", 1.0, 2.0), ("griffin", 0.7, 3.0))
    ]
}


@pytest.mark.parametrize("command", ["plot", "bench"])
def test_a_pgf_figure_without_tex_is_refused_before_the_work(tmp_path, monkeypatch, command):
    """``-o fig.pgf`` where no TeX program is on the PATH: a RuntimeError traceback once the
    work was done (``bench``: after every timing)."""
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))  # no xelatex / lualatex / pdflatex
    report = tmp_path / "r.json"
    report.write_text(json.dumps(REPORT))
    fig = tmp_path / "fig.pgf"
    bench = ["--preset", "tiny", "--variants", "c", "--prompt-tokens", 8, "--gen-tokens", 2]
    args = {
        "plot": ["plot", "quality", "--report", report, "-o", fig],
        "bench": ["bench", *bench, "--trials", 1, "--plot", fig],
    }[command]
    run = cli(*args)
    assert run.exit_code == 2, run.output
    assert "Error: cannot write a .pgf figure" in run.output and "TeX" in run.output
    assert "[" not in run.output.splitlines()[0]  # bench: before any timing
    assert not fig.exists() and [p.name for p in tmp_path.iterdir()] == ["r.json"]


def test_eval_writes_its_report_before_printing_the_table(cli_world, tmp_path, monkeypatch):
    """``eval -o r.json | head`` (stdout closed before the table): the report never written."""
    from rich.console import Console

    printed = Console.print

    def closed_stdout(self, *args, **kwargs):
        if not self.stderr:
            raise BrokenPipeError(32, "Broken pipe")
        return printed(self, *args, **kwargs)

    monkeypatch.setattr(Console, "print", closed_stdout)
    model, corpus = cli_world
    out = tmp_path / "r.json"
    cli(*eval_flags(model, corpus), "--mask-sources", "full", "--domains", "math", "-o", out)
    assert [r["source"] for r in rows(out)] == ["full"]  # was: no file
