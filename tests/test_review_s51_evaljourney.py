"""Review (s51): ``eval``, ``bench`` and ``plot`` as a researcher comparing pruning methods runs
them. Each test failed on the code it was written against, for the reason in its docstring; all
run on tiny random models.

- ``eval -o r.json`` (and ``-o -``) on a model whose scores come out NaN (a diverged finetune, a
  float16 overflow) **wrote the literals ``NaN`` / ``Infinity``**, which strict JSON parsers (jq,
  JavaScript's JSON.parse, Go, serde) refuse: the whole report unreadable to them.
- ``bench``'s decode tok/s was mlx-lm's ``generation_tps``: n tokens, the prefill's first one
  included, over n - 1 decode steps; ``-n 2`` read about **twice** ``-n 64``'s speed.
- ``plot quality``: a source missing from one panel shifted the others' colours there.
- ``eval`` with a plug-in source whose masks keep another count than asked: its masks scored,
  **the count asked for reported** (k, keep, active parameters).
- ``bench --keep 0.5,`` (which eval takes) was refused as **"got ''"**.
- Ctrl-C during ``bench -o b.json`` left the run so far in b.json (replacing what it held) but
  said **only "Error: interrupted"**.
"""

import json

import mlx_ifp  # first: the optimized BLAS before mlx.core  # noqa: F401
from mlx_ifp import UsageError
from mlx_ifp.evaluation import plot_quality

import mlx.core as mx
import pytest
from test_review_s45_heval2 import cli
from tiny import save_folder, tiny_model


def strict(text: str):
    """``text`` read as strict JSON (RFC 8259: no NaN, Infinity or -Infinity)."""

    def refuse(name):
        raise ValueError(f"{name} is not JSON")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture(scope="module")
def nan_model(tmp_path_factory):
    """A tiny llama whose dense forward is NaN (one FFN channel's weights NaN)."""
    model = tiny_model("llama")
    w = model.model.layers[0].mlp.down_proj.weight
    model.model.layers[0].mlp.down_proj.weight = w.at[:, 5].add(float("nan"))
    mx.eval(model.parameters())
    return save_folder(model, tmp_path_factory.mktemp("nan") / "model")


EVAL = ["--limit", 1, "--gen-limit", 0, "--mask-sources", "full,random", "--keep", 0.5,
        "--modes", "input", "--domains", "math"]  # fmt: skip


@pytest.mark.parametrize("to_stdout", [False, True])
def test_eval_report_of_nan_scores_is_strict_json(cli_world, nan_model, tmp_path, to_stdout):
    """``NaN`` literals in the report (its ppl, nll and kl): json.loads accepts them, strict
    parsers do not."""
    _, corpus = cli_world
    out = tmp_path / "r.json"
    output = "-" if to_stdout else out
    run = cli("eval", "--model", nan_model, "--data", corpus, *EVAL, "-o", output)
    assert run.exit_code == 0, run.output
    report = strict(run.stdout if to_stdout else out.read_text())
    rows = report["results"]
    assert [r["source"] for r in rows] == ["full", "random"]
    assert all(r["kl"] is None and r["ppl"] is None for r in rows)  # NaN written as null
    assert all(r["n"] == 1 and r["active_fraction"] > 0 for r in rows)  # the rest as it was


def test_plot_quality_reads_null_scores_as_not_drawn(tmp_path):
    """A report whose scores are null (eval's NaN, written as strict JSON) was "has no 'ppl'
    results", as if the metric were never measured; a row's null left out without a word."""
    rows = [{"domain": "math", "source": s, "mode": "input", "active_fraction": f, "ppl": None}
            for s, f in (("full", 1.0), ("random", 0.7))]  # fmt: skip
    with pytest.raises(UsageError, match="all NaN or infinite"):
        plot_quality({"results": rows}, tmp_path / "q.png", "ppl")
    rows[0]["ppl"] = 3.0
    assert plot_quality({"results": rows}, tmp_path / "q.png", "ppl").is_file()


# --- bench: decode tok/s over the decode steps alone -----------------------------------------


@pytest.mark.parametrize("gen", [2, 4, 64])
def test_bench_decode_speed_leaves_out_the_prefills_token(gen):
    """mlx-lm's ``generation_tps`` is n tokens over the time from the first token to the last,
    which holds n - 1 decode steps (the first token is the prefill's, its time in prompt_tps).
    ``bench`` reported it as the decode speed: ``-n 2`` read **twice** the decode speed of
    ``-n 64`` on the same model (1827 vs 864 tok/s on the tiny preset, seen here), ``-n 64``
    1.6% over llama-bench's ``tg64`` (n decode steps timed)."""
    from types import SimpleNamespace

    from mlx_ifp.bench import run as bench_run

    step = 0.01  # seconds per decode step: mlx-lm's interval holds gen - 1 of them
    last = SimpleNamespace(prompt_tps=100.0, peak_memory=0.5, generation_tokens=gen,
                           generation_tps=gen / ((gen - 1) * step))  # fmt: skip
    tok = SimpleNamespace(_eos_token_ids={1})
    out = bench_run.run_decode(None, tok, [1, 2, 3], gen, 2, stream=lambda n: iter([last]))
    assert out["decode_tps"] == pytest.approx(1 / step)  # 100 tok/s, whatever -n
    assert out["decode_tps_all"] == pytest.approx([1 / step] * 2)
    assert out["prefill_s"] == pytest.approx(3 / 100.0)


def test_bench_interrupted_says_what_it_saved(tmp_path, monkeypatch):
    """Ctrl-C during ``bench -o b.json``: the results so far were saved there (``"complete":
    false``), replacing what the file held, but the command said only **"Error: interrupted"**:
    nothing told that b.json now held a partial run."""
    from mlx_ifp.bench import run as bench_run

    def stop(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(bench_run, "_one_keep", stop)  # after (a), at the first keep ratio
    out = tmp_path / "b.json"
    out.write_text('{"complete": true}')  # an earlier run's report
    run = cli("bench", "--preset", "tiny", "--variants", "ac", "-p", 8, "-n", 2, "-r", 1, "-o", out)
    assert run.exit_code == 130, run.output
    line = run.output.strip().splitlines()[-1]
    assert str(out) in line and "complete" in line, line
    saved = strict(out.read_text())
    assert saved["complete"] is False and "dense" in saved and saved["runs"] == []


# --- eval: a row's k is the k its masks kept ---------------------------------------------------


def test_eval_refuses_a_source_whose_masks_keep_another_count(cli_world, monkeypatch):
    """A plug-in source that rounds k up (to 64 channels, as some kernels like): ``eval --keep
    0.25`` scored its 64-channel masks but **reported k 24, keep 0.25 and 62% active** (the
    count asked for), a better score credited to fewer parameters. ``FixedMask`` refused such a
    mismatch; other sources did not."""
    from mlx_ifp.sources import MaskSource
    from mlx_ifp.sources.base import SOURCES

    class Aligned(MaskSource):
        def scores(self, model, tokens):
            return mx.broadcast_to(mx.arange(96.0), (len(model.model.layers), 96))

        def select(self, model, tokens, k):
            return super().select(model, tokens, -(-k // 64) * 64)

    monkeypatch.setitem(SOURCES, "aligned64", lambda **kw: Aligned())
    model, corpus = cli_world
    args = ["--limit", 1, "--gen-limit", 0, "--domains", "math", "--mask-sources", "aligned64"]
    for modes in ("input", "task"):
        run = cli(
            "eval", "--model", model, "--data", corpus, *args, "--keep", 0.25, "--modes", modes
        )
        said = run.output.strip().splitlines()[-1]  # (after the progress line it stopped at)
        assert run.exit_code == 2 and said.startswith("Error: ") and "aligned64" in said, said
        assert "keeps 64" in said and "k 24" in said, said
    run = cli("eval", "--model", model, "--data", corpus, *args, "--keep", 64, "-o", "-")
    assert run.exit_code == 0, run.output  # what it keeps, asked for: scored
    assert [r["k"] for r in strict(run.stdout)["results"]] == [64, 64]


def test_bench_keep_list_reads_as_evals(tmp_path):
    """``bench --keep 0.5,`` (a trailing comma, which ``eval --keep`` takes): **"--keep must be a
    fraction in (0, 1] or a channel count, got ''"**, an empty value the user never typed; a
    value with no ratio at all (``--keep ,``) is still refused, as eval refuses it."""
    out = tmp_path / "b.json"
    args = ["bench", "--preset", "tiny", "--variants", "c", "-p", 8, "-n", 2, "-r", 1, "-o", out]
    run = cli(*args, "--keep", "0.5,", "--keep", " 0.25 ,")
    assert run.exit_code == 0, run.output
    assert [r["keep"] for r in strict(out.read_text())["runs"]] == [0.5, 0.25]
    run = cli(*args, "--keep", "0.5", "--keep", ",")
    said = run.output.strip().splitlines()
    assert run.exit_code == 2 and len(said) == 1 and "no keep ratio" in said[0], run.output


def test_plot_quality_gives_a_source_one_colour_in_every_panel(tmp_path, monkeypatch):
    """A source missing from one domain's panel (its scores NaN there, or never run there): each
    panel took colours from matplotlib's cycle in its own order, so **the same colour meant
    static in one panel and random in the next**, and the shared legend showed two sources in
    one colour."""
    import matplotlib.figure

    figures, save = [], matplotlib.figure.Figure.savefig

    def spy(self, *args, **kwargs):
        figures.append(self)
        return save(self, *args, **kwargs)

    monkeypatch.setattr(matplotlib.figure.Figure, "savefig", spy)
    rows = [
        {"domain": dom, "source": src, "mode": "static", "active_fraction": f, "kl": v}
        for dom in ("math", "code")
        for src, f, v in (("full", 1.0, 0.0), ("random", 0.7, 1.0), ("static", 0.7, 2.0))
    ]
    rows[1]["kl"] = None  # random's math score: NaN, written as null
    plot_quality({"results": rows}, tmp_path / "q.png", "kl")
    colours: dict = {}
    for ax in figures[0].axes:
        for line in ax.get_lines():
            colours.setdefault(line.get_label(), set()).add(line.get_color())
    assert len(colours["static"]) == 1, colours
    assert len(colours["random"]) == 1 and colours["random"] != colours["static"], colours
