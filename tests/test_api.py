"""The public API from a fresh interpreter: what a user gets after a bare ``import mlx_ifp``."""

import json
import os
import subprocess
import sys
from pathlib import Path

import mlx_ifp
from mlx_ifp.common import UsageError
from mlx_ifp.inference import footer
from mlx_ifp.sources import make_source
from mlx_ifp.sources.predictor import PredictorConfig, new_predictor, save_predictor

import pytest
from tiny import finetune_folder, save_folder, tiny_model

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


@pytest.mark.parametrize("train", ["lora", "full"])
def test_a_jointly_trained_predictor_is_refused_without_its_llm_weights(tmp_path, train):
    model = tiny_model("llama")
    folder = save_folder(model, tmp_path / "model")
    ft = finetune_folder(model, tmp_path / "ft", k=40, train=train)
    net, tok = mlx_ifp.load(str(folder))
    source = make_source("predictor", path=ft)
    with pytest.raises(UsageError, match=f"trained jointly with {train} weights of the LLM"):
        mlx_ifp.generate(net, tok, "t5 t6 t7", max_tokens=2, mask_source=source, keep=40)
    net, tok = mlx_ifp.load(str(folder), adapter_path=str(ft))  # with them: served, and said
    out = list(mlx_ifp.stream_generate(net, tok, "t5 t6 t7", 2, mask_source="predictor", keep=40))
    assert f"Predictor: {ft}, with its {train} LLM weights applied" in footer(out[-1])


def test_a_predictor_trained_on_a_frozen_llm_says_so(tmp_path):
    model = tiny_model("llama")
    folder = save_folder(model, tmp_path / "model")
    ft = finetune_folder(model, tmp_path / "ft", k=40, train="frozen")
    net, tok = mlx_ifp.load(str(folder))
    source = make_source("predictor", path=ft)
    out = list(mlx_ifp.stream_generate(net, tok, "t5 t6 t7", 2, mask_source=source, keep=40))
    assert f"Predictor: {ft} (trained with the LLM frozen)" in footer(out[-1])


def test_load_takes_a_path_object_as_mlx_lm_does(tmp_path):
    """`load(Path(...))` and `adapter_path=Path(...)` load, as with strings (it raised
    AttributeError: 'PosixPath' object has no attribute 'lower')."""
    import mlx.core as mx

    model = tiny_model("llama")
    folder = save_folder(model, tmp_path / "model")
    ft = finetune_folder(model, tmp_path / "ft", k=40, train="lora")
    net, _ = mlx_ifp.load(folder, adapter_path=ft)
    ref, _ = mlx_ifp.load(str(folder), adapter_path=str(ft))
    probe = mx.array([[1, 2, 3]])
    assert mx.array_equal(net(probe), ref(probe))
