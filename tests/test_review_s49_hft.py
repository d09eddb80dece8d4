"""Forty-ninth session, review of the journey of an `mlx_lm lora` / `fuse` / `convert` user:
finetune on a data folder of one's own, then export the model and run it elsewhere.

Bugs (each case failed before the fix):
- ``export --adapter RUN --keep 1.0`` (the run's LoRA fused into the whole, unpruned model: what
  ``mlx_lm fuse`` writes, and the command RELIABILITY.md names for it) was refused with
  ``Error: --mask-source predictor selects from text: give --task or --prompt``, though nothing
  is selected at keep 1.0 (``generate --adapter RUN --keep 1.0`` runs it); only ``--mask-source
  full`` wrote it. ``export --adapter RUN`` alone said the same and named no way to the whole
  model;
- ``mlx_ifp convert`` (the alias named for ``mlx_lm convert`` users) given ``mlx_lm convert``'s
  or ``mlx_lm fuse``'s flags (``--hf-path``, ``--mlx-path``, ``-q``, ``--save-path``,
  ``--de-quantize``, ``--export-gguf``): a bare ``No such option: --hf-path``, where
  ``finetune``, ``generate`` and ``chat`` say what an mlx-lm flag is here; ``--adapter-path``
  (``mlx_lm fuse``'s name, which ``generate`` and ``chat`` take) was refused: now taken.
"""

import json

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp.cli import main

import mlx.core as mx
import numpy as np
import pytest
from bad_world import one_error
from mlx_lm import load as mlx_lm_load
from test_review_s32_cli import cli
from tiny import finetune_folder, save_folder, tiny_model

X = mx.array([[5, 9, 3, 7, 11, 2]])


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    root = tmp_path_factory.mktemp("hft")
    folder = save_folder(tiny_model("llama"), root / "model")
    adapter = finetune_folder(mlx_ifp.load(str(folder))[0], root / "adapter", 48)
    return folder, adapter


@pytest.mark.parametrize("flag", ["--adapter", "--adapter-path"])  # mlx_lm fuse's name too
def test_export_an_adapter_at_keep_1_writes_the_whole_model_with_its_lora_fused(
    tiny, tmp_path, flag
):
    folder, adapter = tiny
    out = tmp_path / "a"
    run = cli("export", "--model", folder, flag, adapter, "--keep", "1.0", "-o", out)
    assert run.returncode == 0, run.stderr
    config = json.loads((tmp_path / "a" / "config.json").read_text())
    source = json.loads((folder / "config.json").read_text())
    assert config["intermediate_size"] == source["intermediate_size"]  # nothing pruned
    assert config["mlx_ifp"]["k"] == source["intermediate_size"]
    # the model mlx-lm runs with the adapter unfused (its LoRA layers): mlx_lm fuse's model
    ref, _ = mlx_lm_load(str(folder), adapter_path=str(adapter))
    bare, _ = mlx_lm_load(str(folder))
    out, _ = mlx_lm_load(str(tmp_path / "a"))
    np.testing.assert_allclose(np.array(out(X)), np.array(ref(X)), atol=1e-4, rtol=1e-4)
    assert not np.allclose(np.array(bare(X)), np.array(ref(X)), atol=1e-3)  # the LoRA matters


def test_export_an_adapter_without_text_names_keep_1_for_the_whole_model(tiny, tmp_path):
    folder, adapter = tiny
    run = cli("export", "--model", folder, "--adapter", adapter, "-o", tmp_path / "c")
    line = one_error(run)
    assert "give --task or --prompt" in line and "--keep 1.0" in line
    assert not (tmp_path / "c").exists()


def test_an_export_with_its_adapter_fused_refuses_that_adapter_again(tiny, tmp_path):
    """`generate --model EXPORT --adapter RUN` (``load(EXPORT, adapter_path=RUN)``) on an export
    whose weights hold RUN's LoRA: the LoRA went on a second time, in silence (the fingerprint
    of an unpruned export is its source's); a pruned one is refused by its width already."""
    folder, adapter = tiny
    out = tmp_path / "a"
    run = cli("export", "--model", folder, "--adapter", adapter, "--mask-source", "full", "-o", out)
    assert run.returncode == 0, run.stderr
    with pytest.raises(mlx_ifp.UsageError, match="already"):
        mlx_ifp.load(str(out), adapter_path=str(adapter))
    run = cli("generate", "--model", out, "--adapter", adapter, "-p", "t5 t6", "--max-tokens", "2")
    assert "already" in one_error(run)
    # another run's adapter, or none, still loads on it
    other = finetune_folder(mlx_ifp.load(str(folder))[0], tmp_path / "other", 48, seed=9)
    mlx_ifp.load(str(out), adapter_path=str(other))
    mlx_ifp.load(str(out))


@pytest.mark.parametrize(
    "flag, says",
    [
        (["--hf-path", "m"], "mlx_lm convert's --hf-path: --model here"),
        (["--mlx-path", "o"], "mlx_lm convert's --mlx-path: --output/-o here"),
        (["-q"], "mlx_lm convert's -q: not done here"),
        (["--q-bits", "4"], "mlx_lm convert's --q-bits: not done here"),
        (["--save-path", "o"], "mlx_lm fuse's --save-path: --output/-o here"),
        (["--de-quantize"], "mlx_lm fuse's --de-quantize: --dequantize here"),
        (["--export-gguf"], "mlx_lm fuse's --export-gguf: -o NAME.gguf"),
    ],
)
@pytest.mark.parametrize("command", ["convert", "export"])
def test_mlx_lm_convert_and_fuse_flags_say_what_they_are_here(command, flag, says, capsys):
    with pytest.raises(SystemExit) as e:
        main([command, *flag, "-o", "never"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert err.startswith("Error: No such option:") and says in err, err
