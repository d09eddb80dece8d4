"""The shipped example configs stay valid, and the app example runs."""

import json
from pathlib import Path

from mlx_ifp.common import UsageError
from mlx_ifp.train import load_config

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_example_finetune_config_loads(tmp_path):
    cfg = load_config(EXAMPLES / "finetune_sft.yaml", data=str(tmp_path), iters=3)
    assert cfg.stage == "sft" and cfg.train == "lora" and cfg.iters == 3
    # the shipped default's shape: a predictor that cannot collapse (was the paper's full head,
    # which collapsed to one mask from its first step on the real model: the fifty-eighth review)
    assert cfg.predictor["head"] == "griffin" and cfg.predictor["route"] == "reweight"


def test_unknown_key_in_yaml_is_an_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((EXAMPLES / "finetune_sft.yaml").read_text() + "\nlearning_rat: 0.1\n")
    with pytest.raises(UsageError, match="learning_rat"):
        load_config(bad)


def test_the_app_example_runs_and_its_saved_mask_brings_back_its_lora(smollm2_dir, tmp_path):
    """`examples/task_app.py` as an app runs it: one task mask from the shipped predictor, the
    later prompts cache hits, the saved mask reused and exported as a folder mlx_lm loads."""
    import subprocess
    import sys

    from mlx_lm import load as mlx_lm_load

    script = EXAMPLES / "task_app.py"
    run = subprocess.run(
        [sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert run.stdout.count("[cache hit:") == 2 and "[selected:" in run.stdout
    meta = json.loads((tmp_path / "geography_slim" / "config.json").read_text())["mlx_ifp"]
    assert meta["mask_source"].startswith("predictor(") and meta["k"] == 768
    mlx_lm_load(str(tmp_path / "geography_slim"))
