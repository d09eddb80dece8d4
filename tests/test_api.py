"""The public API from a fresh interpreter: what a user gets after a bare ``import mlx_ifp``."""

import json
import os
import subprocess
import sys
from pathlib import Path

from mlx_ifp.sources.predictor import PredictorConfig, new_predictor, save_predictor

from tiny import save_folder, tiny_model

SCRIPT = """
import json, sys
import mlx_ifp
model, tok = mlx_ifp.load(sys.argv[1], adapter_path=sys.argv[2])
out = list(mlx_ifp.stream_generate(model, tok, "t5 t6 t7", 3, mask_source="predictor", keep=40))
print(json.dumps({"k": out[-1].prune.mask.k, "source": out[-1].prune.mask.source}))
"""


def test_predictor_source_after_a_bare_import(tmp_path):
    model = tiny_model("llama")
    folder = save_folder(model, tmp_path / "model")
    pred = save_predictor(new_predictor(model, PredictorConfig(layers=1, rank=8)), tmp_path / "p")
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    run = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(folder), str(pred)],
        capture_output=True, text=True, timeout=300, env=env,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr[-2000:]
    got = json.loads(run.stdout.strip().splitlines()[-1])
    assert got["k"] == 40 and "predictor" in got["source"]
