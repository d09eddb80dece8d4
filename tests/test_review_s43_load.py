"""Review (s43): loading models and adapters the way an mlx-lm user has them.

Each test failed on the code it was written against, for the reason in its docstring.

- `load(M, adapter_path=LORA)` of an `mlx_lm lora` output folder (adapters, no predictor), then
  `generate` / `select` / `Pruner` with no mask source (`generate --adapter LORA` alike): the
  load took the adapters, then every default call failed with "no predictor in LORA", where the
  docs say a model's default is its folder's predictor, else GRIFFIN.
- `--model SmolLM2-135M-Instruct` / `load("SmolLM2-135M-Instruct")` where that is an mlx-lm
  folder here (`hf download HuggingFaceTB/SmolLM2-135M-Instruct --local-dir ...` keeps the
  repo's name): the embedded Q4_1 model was loaded instead, without a word.
"""

import mlx_ifp
from mlx_ifp.cli import app
from mlx_ifp.inference.pruner import default_source
from mlx_ifp.models import embedded

import pytest
from tiny import finetune_folder, save_folder, tiny_model
from typer.testing import CliRunner


def cli(*args):
    return CliRunner().invoke(app, [str(a) for a in args])


@pytest.fixture(scope="module")
def lora_world(tmp_path_factory):
    """A tiny llama folder and an `mlx_lm lora`-style folder for it: adapters.safetensors and
    adapter_config.json, no predictor."""
    root = tmp_path_factory.mktemp("lora")
    folder = save_folder(tiny_model("llama"), root / "model")
    model, _ = mlx_ifp.load(str(folder))
    lora = finetune_folder(model, root / "adapters", 48)
    for name in ("ifp_config.json", "predictor.safetensors"):
        (lora / name).unlink()
    return folder, lora


def test_mlx_lm_lora_folder_prunes_by_griffin_in_the_api(lora_world):
    """`generate(model, tok, p)` of a model loaded with an mlx-lm LoRA folder: `UsageError: no
    predictor in LORA (needs predictor.safetensors and ifp_config.json)` (also `select`,
    `Pruner(model, tok)`), though the load had taken the folder."""
    folder, lora = lora_world
    model, tok = mlx_ifp.load(str(folder), adapter_path=str(lora))
    bare, _ = mlx_ifp.load(str(folder))
    assert default_source(model) == ("griffin", None)
    text = mlx_ifp.generate(model, tok, "t5 t6 t7", max_tokens=4)
    assert text == mlx_ifp.generate(model, tok, "t5 t6 t7", max_tokens=4, mask_source="griffin")
    _, info = mlx_ifp.select(model, tok, "t5 t6 t7")
    assert info.mask.source == "griffin"
    assert mlx_ifp.Pruner(model, tok).source.name == "griffin"
    # the LoRA is applied: GRIFFIN on the adapted model, not on the bare one
    _, bare_info = mlx_ifp.select(bare, tok, "t5 t6 t7")
    assert bare_info.mask.digest() != info.mask.digest()


def test_mlx_lm_lora_folder_as_generate_adapter(lora_world):
    """`generate --adapter LORA` (mlx_lm's `--adapter-path`): `Error: no predictor in LORA`,
    exit 2; now the model runs with its LoRA, the mask by griffin."""
    folder, lora = lora_world
    run = cli("generate", "--model", folder, "--adapter", lora, "-p", "t5 t6 t7", "-m", "3")
    assert run.exit_code == 0, run.output
    assert "Mask: griffin" in run.output


@pytest.fixture
def named_like_embedded(tmp_path, monkeypatch):
    """A tiny mlx-lm folder named as the Hugging Face repo of the embedded default, in the
    current folder; the embedded model must not be touched."""
    monkeypatch.chdir(tmp_path)
    folder = save_folder(tiny_model("llama"), tmp_path / "SmolLM2-135M-Instruct")

    def refuse(*args, **kwargs):
        raise AssertionError("the embedded model was loaded")

    monkeypatch.setattr(embedded, "embedded_folder", refuse)
    return folder


def test_local_folder_named_like_an_embedded_model_is_loaded(named_like_embedded):
    """`load("SmolLM2-135M-Instruct")` with that mlx-lm folder here loaded the embedded Q4_1
    SmolLM2 (its 576-wide weights, its shipped predictor) instead of the folder."""
    assert mlx_ifp.check_model("SmolLM2-135M-Instruct") == "folder"  # was "embedded"
    model, _ = mlx_ifp.load("SmolLM2-135M-Instruct")
    assert model.args.hidden_size == 64
    assert default_source(model) == ("griffin", None)  # not the shipped predictor
    assert mlx_ifp.check_model("smollm2-135m-instruct") == "embedded"  # no such folder here
    assert mlx_ifp.check_model("./SmolLM2-135M-Instruct") == "folder"


def test_local_folder_named_like_an_embedded_model_in_generate(named_like_embedded):
    """`mlx_ifp generate --model SmolLM2-135M-Instruct` ran the embedded model (its shipped
    predictor + LoRA) on the prompt, not the folder the user named."""
    run = cli("generate", "--model", "SmolLM2-135M-Instruct", "-p", "t5 t6", "-m", "3")
    assert run.exit_code == 0, run.output
    assert "Mask: griffin, keep 48/96" in run.output
