"""`export` picks a mask as `generate` does: the model's own source (the shipped predictor with
its LoRA fused in, an `--adapter`'s predictor and LoRA, a mask's own predictor), where it used
to prune the bare model with GRIFFIN; an output named `*.gguf` is a GGUF file."""

import json

import mlx_ifp

import mlx.core as mx
import numpy as np
import pytest
from bad_world import one_error
from mlx_lm import load as mlx_lm_load
from test_review_s32_cli import cli
from tiny import finetune_folder, save_folder, tiny_model

X = mx.array([[5, 9, 3, 7, 11, 2]])
PROMPT = "t5 t6 t7 t8"


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("export_own")
    folder = save_folder(tiny_model("llama"), root / "model")
    adapter = finetune_folder(mlx_ifp.load(str(folder))[0], root / "adapter", 48)
    return folder, adapter


def logits(folder) -> np.ndarray:
    model, _ = mlx_lm_load(str(folder))
    return np.array(model(X))


def test_export_with_an_adapter_writes_its_predictors_slim_model_with_the_lora(tiny, tmp_path):
    folder, adapter = tiny
    run = cli("export", "--model", folder, "--adapter", adapter, "-p", PROMPT, "-o", tmp_path / "a")
    assert run.returncode == 0, run.stderr
    meta = json.loads((tmp_path / "a" / "config.json").read_text())["mlx_ifp"]
    assert meta["mask_source"] == f"predictor({adapter.name})" and meta["k"] == 48  # trained k
    model, tok = mlx_ifp.load(str(folder), adapter_path=str(adapter))
    slim, info = mlx_ifp.select(model, tok, PROMPT, mask_source="predictor", keep=48)
    assert info.mask.digest() == meta["mask"]
    np.testing.assert_allclose(logits(tmp_path / "a"), np.array(slim(X)), atol=1e-4, rtol=1e-4)
    # the mask it picked, exported alone, brings the same LoRA back: the same model
    info.mask.save(tmp_path / "m")
    run = cli("export", "--model", folder, "--mask", tmp_path / "m", "-o", tmp_path / "b")
    assert run.returncode == 0, run.stderr
    np.testing.assert_allclose(logits(tmp_path / "b"), logits(tmp_path / "a"), atol=1e-5)
    # and its predictor needs a text
    run = cli("export", "--model", folder, "--adapter", adapter, "-o", tmp_path / "c")
    assert "selects from text" in one_error(run)


def test_export_mask_with_a_budget_or_text_is_refused(tiny, tmp_path):
    folder, _ = tiny
    mask = mlx_ifp.select(*mlx_ifp.load(str(folder)), PROMPT, mask_source="griffin")[1].mask
    mask.save(tmp_path / "m")
    for extra in (["--keep", "0.25"], ["-p", PROMPT], ["--mask-source", "static"]):
        run = cli(
            "export", "--model", folder, "--mask", tmp_path / "m", "-o", tmp_path / "o", *extra
        )
        assert "--mask fixes the channels" in one_error(run)
    assert not (tmp_path / "o").exists()


def test_an_output_named_gguf_is_a_gguf_file(smollm2_dir, tmp_path):
    pytest.importorskip("gguf")
    run = cli("export", "--keep", "0.5", "--gguf-type", "q8_0", "-o", tmp_path / "slim.gguf")
    assert run.returncode == 0, run.stderr
    assert (tmp_path / "slim.gguf").is_file()  # was a folder named slim.gguf
    assert (tmp_path / "slim.gguf").read_bytes()[:4] == b"GGUF"


def test_export_of_the_embedded_model_uses_the_shipped_predictor(smollm2_dir, tmp_path):
    """What `generate -p` runs first (one mask; it then re-picks), written as a standard folder."""
    question = "What is the capital of France?"
    run = cli("export", "-p", question, "-o", tmp_path / "slim")
    assert run.returncode == 0, run.stderr
    meta = json.loads((tmp_path / "slim" / "config.json").read_text())["mlx_ifp"]
    assert meta["mask_source"].startswith("predictor(") and meta["k"] == 768
    model, tok = mlx_ifp.load("smollm2-135m-instruct", dequantize=False)  # as export loads it
    slim, info = mlx_ifp.select(model, tok, question)
    assert info.mask.digest() == meta["mask"]
    x = mx.array([[1, 504, 3213, 30]])
    loaded, _ = mlx_lm_load(str(tmp_path / "slim"))
    np.testing.assert_allclose(np.array(loaded(x)), np.array(slim(x)), atol=1e-3, rtol=1e-3)
    run = cli("export", "-p", question, "--mask-source", "griffin", "-o", tmp_path / "g")
    assert run.returncode == 0, run.stderr
    meta = json.loads((tmp_path / "g" / "config.json").read_text())["mlx_ifp"]
    assert meta["mask_source"] == "griffin"
