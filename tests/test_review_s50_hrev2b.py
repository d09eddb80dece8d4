"""Review (s50, hrev2b) of the session's later commits (``-o -``, plot quality with NaN rows).

1. ``plot quality`` whose report has every row of its first domain NaN (a domain a model
   diverged on) and finite rows elsewhere: **a ValueError traceback** from matplotlib (the
   legend was read off the first domain's axes only, which had nothing drawn: ``ncol=0``); with
   only some of the first domain's lines lost, the legend **left out the lines drawn only in
   the other domains**. The legend now gathers every domain's lines, each label once.
2. ``data build -o ./-`` (what the ``-o -`` refusal tells the user to type for a folder named
   ``-``): **refused with that very advice** ("output - is not stdout here: ... ./- names one
   called -"), since ``build`` made the text a ``Path`` (``./-`` is ``-`` as a Path) before
   ``check_writable`` saw it. Only the text ``-`` is read as "stdout" now; a ``Path`` names a
   file or folder, as before the refusal.
"""

import json

import mlx_ifp  # first: the optimized BLAS before mlx.core  # noqa: F401
from mlx_ifp import UsageError
from mlx_ifp.cli import app
from mlx_ifp.common import check_writable

import pytest
from typer.testing import CliRunner


def _report(first_domain_values):
    rows = [
        {"domain": "code", "source": s, "mode": "input", "active_fraction": f, "ppl": p}
        for (s, f), p in zip(
            (("full", 1.0), ("griffin", 0.7), ("random", 0.7)), first_domain_values, strict=True
        )
    ]
    rows += [
        {"domain": "math", "source": s, "mode": "input", "active_fraction": f, "ppl": p}
        for s, f, p in (("full", 1.0, 2.0), ("griffin", 0.7, 3.0), ("random", 0.7, 4.0))
    ]
    return {"results": rows}


NAN = float("nan")


@pytest.mark.parametrize(
    "first, labels",
    [
        ([NAN, NAN, NAN], {"dense", "griffin per-input", "random per-input"}),
        ([2.5, 3.5, NAN], {"dense", "griffin per-input", "random per-input"}),
    ],
)
def test_the_legend_names_every_domains_lines(tmp_path, monkeypatch, first, labels):
    from mlx_ifp.evaluation import plots

    seen, write = [], plots._save

    def save(fig, path):
        seen.extend(t.get_text() for legend in fig.legends for t in legend.get_texts())
        return write(fig, path)  # (the real write still)

    monkeypatch.setattr(plots, "_save", save)
    out = plots.plot_quality(_report(first), tmp_path / "q.png")
    assert out.read_bytes()[:4] == b"\x89PNG"
    assert sorted(seen) == sorted(labels)  # each once


def test_data_build_into_a_folder_named_dash_is_not_refused_as_stdout(tmp_path, monkeypatch):
    from mlx_ifp.data import corpus

    def reached(*a, **k):
        raise UsageError("reached the build")

    monkeypatch.chdir(tmp_path)
    monkeypatch.setattr(corpus, "cache_lock", reached)  # past the output's checks: stop there
    run = CliRunner().invoke(app, ["data", "build", "-o", "./-"])
    assert run.exit_code == 2 and "reached the build" in run.output, run.output
    plain = CliRunner().invoke(app, ["data", "build", "-o", "-"])  # the text "-": still refused
    assert plain.exit_code == 2 and "output - is not stdout here" in plain.output, plain.output


def test_a_path_object_named_dash_is_a_path(tmp_path, monkeypatch):
    from pathlib import Path

    monkeypatch.chdir(tmp_path)
    assert check_writable(Path("-")) == Path("-")
    assert check_writable(Path("./-"), folder=True) == Path("-")
    with pytest.raises(UsageError, match="not stdout"):
        check_writable("-")
    assert json.dumps(sorted(p.name for p in tmp_path.iterdir())) == "[]"  # nothing written
