"""The shipped example configs stay valid."""

from pathlib import Path

from mlx_ifp.common import UsageError
from mlx_ifp.train.checkpoint import load_config

import pytest

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


def test_example_finetune_config_loads(tmp_path):
    cfg = load_config(EXAMPLES / "finetune_sft.yaml", data=str(tmp_path), iters=3)
    assert cfg.stage == "sft" and cfg.train == "lora" and cfg.iters == 3
    assert cfg.predictor["head"] == "full"


def test_unknown_key_in_yaml_is_an_error(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text((EXAMPLES / "finetune_sft.yaml").read_text() + "\nlearning_rat: 0.1\n")
    with pytest.raises(UsageError, match="learning_rat"):
        load_config(bad)
