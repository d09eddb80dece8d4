"""`mlx_ifp finetune` and `eval` settings found in review to reach the run unchecked (each was a
traceback, not one `Error:` line with exit code 2, or text YAML read where a number belonged)."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from bad_world import listing, one_error, words_data
from tiny import save_folder, tiny_model

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    root = tmp_path_factory.mktemp("review")
    model = save_folder(tiny_model("llama"), root / "model")
    return {"model": model, "data": words_data(root / "data")}


#: (id, YAML lines beside model/data, a fragment of the one error line)
YAML = [
    ("weight-decay-text", "weight_decay: fast", "weight_decay"),
    ("lora-dropout-2", "train: lora\nlora_dropout: 2.0", "lora_dropout"),
    ("predictor-not-a-mapping", "predictor: 5", "predictor"),
    ("predictor-layers-text", "predictor:\n  layers: two", "layers"),
]


@pytest.mark.parametrize("lines, fragment", [c[1:] for c in YAML], ids=[c[0] for c in YAML])
def test_finetune_yaml_bad_value_is_one_error_line(inputs, tmp_path, lines, fragment):
    work, run = finetune(inputs, tmp_path, lines)
    after = listing(work)  # the work folder started empty: nothing was written
    assert fragment in one_error(run), run.stderr
    assert after == {}, after


def finetune(inputs, tmp_path, lines):
    """Run a 2-step finetune from a YAML of ``lines`` in a fresh work folder."""
    work = tmp_path / "work"
    work.mkdir()
    cfg = tmp_path / "run.yaml"
    head = f"model: {inputs['model']}\ndata: {inputs['data']}\noutput: out\n"
    head += "iters: 2\nbatch_size: 2\n"
    cfg.write_text(head + "max_seq_length: 32\nval_every: 0\nquiet: true\n" + lines + "\n")
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    env["MLX_IFP_CACHE"] = str(tmp_path / "cache")
    run = subprocess.run(
        [sys.executable, "-m", "mlx_ifp", "finetune", "-c", str(cfg)],
        capture_output=True, cwd=work, env=env, timeout=180,
    )  # fmt: skip
    return work, run


@pytest.mark.parametrize("line", ["weight_decay: 1e-2", "max_grad_norm: 1e0", "max_seconds: 3e3"])
def test_finetune_yaml_numbers_without_a_dot_are_numbers(inputs, tmp_path, line):
    """YAML reads 1e-2 (no dot) as text: it was taken as a number only for learning_rate & co.,
    and these crashed in the training loop."""
    work, run = finetune(inputs, tmp_path, line)
    assert run.returncode == 0, run.stderr.decode(errors="replace")[-1500:]
    name, value = line.split(": ")
    assert (work / "out" / "trainer_state.json").exists()
    saved = json.loads((work / "out" / "trainer_state.json").read_text())["config"][name]
    assert saved == float(value)


def test_eval_keep_text_is_one_error_line(tmp_path):
    """`eval --keep half`: `float()` in cli/evaluate.py raises ValueError (a traceback)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    env["MLX_IFP_CACHE"] = str(tmp_path / "cache")
    run = subprocess.run(
        [sys.executable, "-m", "mlx_ifp", "eval", "--model", "/no/model", "--data", "/no/data",
         "--keep", "half"],
        capture_output=True, cwd=tmp_path, env=env, timeout=120,
    )  # fmt: skip
    one_error(run)
