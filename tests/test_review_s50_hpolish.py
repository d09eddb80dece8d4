"""Review (s50), small leftovers: a predictor source shared by two models on two threads, MLX's
random state under ``random_state_kept`` with another thread sampling, ``info --model X.gguf``'s
sizes, and validation NaNs in a training log (tools/plot_training.py). Each test but the random
state's failed on the code it was written against, for the reason in its docstring.

- ``PredictorSource.predictor`` set ``_pred`` then ``_for``: a thread that loaded model A's
  predictor between another thread's two assignments **returned model B's predictor**, and the
  source kept B's predictor filed under A.
- ``info --model X.gguf``'s "weight bytes" was the size as loaded (538 MB for the 100 MB Q4_1
  SmolLM2 GGUF): **it read like the file's size**; the file's size was not shown.
- ``tools/plot_training.py`` read a log's ``val CE nan`` lines as nothing (its numbers were
  digits only): **a run gone NaN drew as if never validated there**.
"""

import math
import sys
import threading
from pathlib import Path

import mlx_ifp  # first: the optimized BLAS before mlx.core  # noqa: F401
from mlx_ifp.cli import app
from mlx_ifp.core import random_state_kept
from mlx_ifp.sources import PredictorSource
from mlx_ifp.sources import predictor as predictor_module

import mlx.core as mx
import mlx.nn as nn
from typer.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import plot_training  # noqa: E402
from test_gguf import tiny_model as gguf_model  # noqa: E402
from test_gguf import write_gguf  # noqa: E402

# --- 1. one predictor source, two models, two threads ------------------------------------------


def test_a_shared_predictor_source_gives_each_thread_its_own_models_predictor(
    tmp_path, monkeypatch
):
    """Thread 1 loads model A's predictor and stops right after its first assignment to the
    source; thread 2 (here: the test's) asks for model B's; thread 1 goes on. It got B's, and
    the source then gave B's for A too. (The load is faked: a real predictor refuses a model of
    another shape, and the cache is what is tested.)"""
    monkeypatch.setattr(predictor_module, "load_predictor", lambda path, model: ("for", model))
    first_set, second_done = threading.Event(), threading.Event()

    class Paused(PredictorSource):  # the method under test is PredictorSource's own
        def __setattr__(self, name, value):
            super().__setattr__(name, value)
            if threading.current_thread().name == "first" and not first_set.is_set():
                first_set.set()
                second_done.wait(timeout=30)  # (the fixed code never waits on thread 1)

    source = Paused(tmp_path)
    a, b = nn.Linear(2, 3), nn.Linear(4, 5)  # two models, two shapes
    got = {}
    thread = threading.Thread(target=lambda: got.update(a=source.predictor(a)), name="first")
    thread.start()
    assert first_set.wait(timeout=30)
    got["b"] = source.predictor(b)
    second_done.set()
    thread.join()
    assert got["a"][1] is a and got["b"][1] is b
    assert source.predictor(a)[1] is a and source.predictor(b)[1] is b


# --- 2. random_state_kept and another thread's draws -------------------------------------------


def test_random_state_kept_in_one_thread_repeats_no_draw_of_another():
    """A guard, not a failure found: MLX (>= 0.32.4, this package's floor) keeps one random state
    per thread, so a thread that puts its state back after building layers does not rewind the
    state another thread samples from (were it global, the main thread's third draw here would
    repeat its first)."""
    mx.random.seed(7)
    expected = [mx.random.uniform().item() for _ in range(3)]
    entered, drawn = threading.Event(), threading.Event()

    def build():
        with random_state_kept():
            entered.set()
            drawn.wait(timeout=30)
            nn.Linear(8, 8)  # draws its weights

    mx.random.seed(7)
    thread = threading.Thread(target=build)
    thread.start()
    assert entered.wait(timeout=30)
    got = [mx.random.uniform().item() for _ in range(2)]
    drawn.set()
    thread.join()
    got.append(mx.random.uniform().item())
    assert got == expected


# --- 3. info --model X.gguf -------------------------------------------------------------------


def test_info_of_a_gguf_says_its_size_as_loaded_and_its_file_size(tmp_path, monkeypatch):
    """``weight bytes`` was the size after loading, unnamed as such; the GGUF's size was not
    shown."""
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    path = write_gguf(gguf_model(), tmp_path / "m.gguf")
    run = CliRunner().invoke(app, ["info", "--model", str(path)])
    assert run.exit_code == 0, run.output
    rows = dict(line.split("  ", 1) for line in run.output.splitlines() if "  " in line)
    rows = {k.strip(): v.strip() for k, v in rows.items()}
    assert "weight bytes" not in rows and rows["weight bytes (as loaded)"].endswith(" MB")
    assert rows["file size"] == f"{path.stat().st_size / 1e6:.1f} MB"


def test_info_of_a_folder_shows_no_file_size(cli_world):
    model, _ = cli_world
    run = CliRunner().invoke(app, ["info", "--model", model])
    assert run.exit_code == 0, run.output
    assert "weight bytes (as loaded)" in run.output and "file size" not in run.output


# --- 4. tools/plot_training.py: NaN in a log --------------------------------------------------


LOG = """steps 6, batch 2
step 2: val CE 3.1000, KL to source 0.9000
step 2: mask Jaccard within 0.500, across 0.400, score spread 0.1, rank spread 0.2
step 4: val CE nan, KL to source nan
step 4: mask Jaccard within nan, across nan, score spread nan, rank spread nan
step 6: val CE inf, KL to source inf
"""


def test_nan_validation_lines_in_a_log_count(tmp_path):
    """``val CE nan`` (and ``inf``) lines matched nothing: the step was silently dropped."""
    (tmp_path / "log").write_text(LOG)
    state = plot_training.from_log(tmp_path / "log")
    assert [v[0] for v in state["val"]] == [2, 4, 6]
    assert math.isnan(state["val"][1][2]) and math.isinf(state["val"][2][2])
    assert [d["step"] for d in state["diversity"]] == [2, 4]


def test_nan_points_are_drawn_as_gaps_with_a_note(tmp_path, capsys):
    (tmp_path / "run-stage1.log").write_text(LOG)
    plot_training.main_checked([str(tmp_path)], str(tmp_path / "curves.png"))
    out = capsys.readouterr()
    assert (tmp_path / "curves.png").is_file()
    assert "0 train loss, 2 validation and 1 probe points not finite (gaps" in out.err
