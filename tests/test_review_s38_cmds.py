"""Review (s38): `mlx_ifp bench`, `plot` and `eval` as a user runs them.

Each test failed on the code it was written against, for the reason in its docstring.

- `bench --keep` of one channel (`--keep 0.001` on a narrow FFN, `--keep 0.008` of the tiny
  preset's 128): the row said k = 1, but (c), (d), (g) and (h) ran the full-width model. The
  bench handed its Pruner the count 1, which a budget reads as keep 1.0.
- `plot overlap --mask-source predictor --adapter default --keep 0.33` drew the masks of the
  keep-0.5 predictor (+ its LoRA) cut to 0.33. `generate` and `export` take `--adapter default`
  as the shipped predictor trained nearest `--keep`.
- `eval --mask NAME=M` with a mask made for another model was refused only after the corpus
  build, which takes minutes when no corpus is cached. A `--keep` over the FFN width is already
  refused before that build.
- `python -m mlx_ifp.bench`, "the same command as `mlx_ifp bench`" (docs/performance.md), met
  a flag it could not parse (`--trials x`) with typer's boxed screen, not the one `Error:`
  line of `mlx_ifp bench`.
"""

import subprocess
import sys

import mlx_ifp
from mlx_ifp import UsageError
from mlx_ifp.bench import bench
from mlx_ifp.cli import app
from mlx_ifp.cli.evaluate import eval_command
from mlx_ifp.core.mask import Mask

import pytest
from corpus import fake_corpus
from tiny import save_folder, tiny_model
from typer.testing import CliRunner


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    mp = pytest.MonkeyPatch()
    try:
        yield fake_corpus(tmp_path_factory.mktemp("s38c"), mp)
    finally:
        mp.undo()


def test_bench_of_one_channel_runs_one_channel():
    out = bench(preset="tiny", keeps=("0.005",), prompt_tokens=8, gen_tokens=2, trials=1,
                variants="cg", log=lambda s: None)  # fmt: skip
    (run,) = out["runs"]
    assert run["k"] == 1
    assert run["variants"]["g_q4_slim"]["k"] == 1  # was 128: "k rounded up" on a float source
    assert run["slim"]["d_ffn"] == 1  # was 128: the full-width model, timed as k = 1
    assert run["ideal_ratio"] > 1


@pytest.mark.parametrize("keep, trained", [("0.33", 507), ("0.5", 768)])
def test_plot_overlap_default_adapter_is_the_one_nearest_keep(corpus, tmp_path, monkeypatch,
                                                              keep, trained):  # fmt: skip
    from mlx_ifp.sources import read_config

    seen = []

    def load(model, adapter_path=None, **kw):
        seen.append(adapter_path)
        raise UsageError("stop here")

    monkeypatch.setattr(mlx_ifp, "load", load)
    run = CliRunner().invoke(app, ["plot", "overlap", "--data", str(corpus), "-o",
                                   str(tmp_path / "o.png"), "--mask-source", "predictor",
                                   "--adapter", "default", "--keep", keep])  # fmt: skip
    assert "stop here" in run.output, run.output
    assert read_config(seen[0])["k"] == trained  # at 0.33: was 768, the keep-0.5 predictor


def test_eval_mask_of_another_model_is_refused_before_the_corpus_build(tmp_path, monkeypatch):
    import mlx_ifp.data

    model = save_folder(tiny_model("llama"), tmp_path / "model")
    other = Mask.full(tiny_model("llama", intermediate_size=64)).save(tmp_path / "m")
    built = []
    monkeypatch.setattr(mlx_ifp.data, "build", lambda *a, **k: built.append(1) or tmp_path)
    with pytest.raises(UsageError, match="another model"):
        eval_command(model=str(model), mask=[f"other={other}"], sources="full", limit=1)
    assert not built  # the build of minutes ran first


def test_python_m_bench_answers_a_bad_flag_as_mlx_ifp_bench_does():
    for entry in (["mlx_ifp.bench"], ["mlx_ifp", "bench"]):
        run = subprocess.run([sys.executable, "-m", *entry, "--trials", "x"],
                             capture_output=True, text=True, timeout=120)  # fmt: skip
        assert run.returncode == 2, run.stderr
        assert run.stderr.startswith("Error: ") and len(run.stderr.splitlines()) == 1, run.stderr
        assert "--trials" in run.stderr
