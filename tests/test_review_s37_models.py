"""The thirty-seventh session's hunt in model loading and conversion (models/, `info`,
`export`/`convert`, `mlx_ifp.load`).

Each test failed on the code it was written against, for the reason its docstring gives.
"""

import ctypes.util
import json
import os
import subprocess
import sys
from pathlib import Path

import mlx_ifp
from mlx_ifp.cli import app
from mlx_ifp.common import UsageError, cache_dir
from mlx_ifp.models import gguf as importer

import mlx.core as mx
import mlx.nn as nn
import pytest
from test_gguf import tiny_model, write_gguf
from tiny import save_folder
from tiny import tiny_model as tiny
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent


def blas_status(value: str) -> str:
    """What ``mlx_ifp info``'s blas row says in a fresh process with ``MLX_IFP_BLAS=value``."""
    code = "import mlx_ifp; from mlx_ifp.models import blas_status; print(blas_status())"
    env = {**os.environ, "MLX_IFP_BLAS": value, "PYTHONPATH": str(ROOT)}
    run = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120
    )
    assert run.returncode == 0, run.stderr[-1500:]
    return run.stdout.strip()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="OpenBLAS is loaded on Linux")
def test_an_empty_or_wrong_blas_setting_is_not_reported_as_openblas():
    """`MLX_IFP_BLAS=` (set but empty, `MLX_IFP_BLAS=$B` with B unset) dlopened "" (the program
    itself, which loads) and `info` said `openblas ()`, though MLX kept its reference BLAS; a
    library that is no BLAS (libc) was reported as `openblas (libc.so.6)` the same way."""
    assert blas_status("") == blas_status("auto")
    libc = ctypes.util.find_library("c")
    if libc:
        assert blas_status(libc).startswith("reference"), blas_status(libc)


def test_a_cache_folder_given_with_a_tilde_is_under_home(tmp_path, monkeypatch):
    """`MLX_IFP_CACHE="~/mlx-cache"` (quoted: a systemd unit, a Dockerfile ENV, a .env file)
    made a folder named `~` in the current folder, and loading a .gguf then failed with
    mlx-lm's "Repo id must be in the form 'namespace/repo_name': '~/mlx-cache/gguf/...'"."""
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("MLX_IFP_CACHE", "~/mlx-cache")
    assert cache_dir("gguf") == tmp_path / "home" / "mlx-cache" / "gguf"
    assert not (tmp_path / "~").exists()
    net, _ = mlx_ifp.load(str(write_gguf(tiny_model(), tmp_path / "m.gguf")))
    assert len(net.layers) == 2


def test_an_adapter_folder_given_with_a_tilde_is_found(tmp_path, monkeypatch):
    """`--adapter "~/run"` (quoted, or `--adapter=~/run`, which no shell expands) and
    `load(..., adapter_path="~/run")` said "adapter folder not found: ~/run", though `--model`,
    `--mask` and `-o` take the same spelling; `adapter_path=""` read the current folder."""
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "run").mkdir()  # neither adapters nor a predictor: refused as such, not missing
    with pytest.raises(UsageError, match="holds neither adapters nor a predictor"):
        mlx_ifp.load(str(write_gguf(tiny_model(), tmp_path / "m.gguf")), adapter_path="~/run")
    with pytest.raises(UsageError, match="adapter_path is empty"):
        mlx_ifp.load("m.gguf", adapter_path="")
    flags = ["-p", "hi", "-m", "2", "--model", "m.gguf", "--adapter", "~/run"]
    result = CliRunner().invoke(app, ["generate", *flags])
    assert "not found" not in result.output, result.output
    assert "holds neither adapters nor a predictor" in result.output, result.output


def test_a_part_of_a_split_gguf_is_refused_before_it_is_converted(tmp_path, monkeypatch):
    """The first part of a split GGUF (`llama-gguf-split`: `model-00001-of-00003.gguf`, how big
    models ship on Hugging Face) was converted whole into the cache, and only `mlx_lm.load`
    refused it ("Missing 9 parameters: ..."): a broken conversion left in the cache, minutes
    of work for a large model, and an error that did not say what was wrong."""
    monkeypatch.setenv("MLX_IFP_CACHE", str(tmp_path / "cache"))
    weights, meta = mx.load(
        str(write_gguf(tiny_model(), tmp_path / "whole.gguf")), return_metadata=True
    )
    part = {k: v for k, v in weights.items() if not k.startswith("blk.1.")}
    meta["split.count"] = mx.array(2, dtype=mx.uint16)
    meta["split.no"] = mx.array(0, dtype=mx.uint16)
    path = tmp_path / "m-00001-of-00002.gguf"
    mx.save_gguf(str(path), part, meta)
    with pytest.raises(UsageError, match="one of the 2 parts of a split GGUF"):
        mlx_ifp.load(str(path))
    made = (tmp_path / "cache" / "gguf").iterdir()  # (the conversion lock holds no data)
    assert not [p for p in made if p.suffix != ".lock"]
    with pytest.raises(UsageError, match="split GGUF"):
        importer.gguf_to_mlx_lm(path, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("quantized", [False, True], ids=["bfloat16", "4-bit-float16-scales"])
def test_export_on_cpu_writes_the_sources_dtype_not_float32(tmp_path, quantized):
    """On CPU `load` casts float weights to float32 (packed matmuls with half scales are slow
    there), and `export` wrote them so: the slim export of a bfloat16 model was larger than its
    source (float32, with `torch_dtype: bfloat16` still in its config), and a 4-bit model's
    float16 scales came back float32 (slower under mlx-lm on a Mac, too)."""
    half = mx.float16 if quantized else mx.bfloat16
    model = tiny(quantize=quantized)
    model.update(
        nn.utils.tree_map(
            lambda p: p.astype(half) if mx.issubdtype(p.dtype, mx.floating) else p,
            model.parameters(),
        )
    )
    src = save_folder(model, tmp_path / "src", quantized=quantized)
    if mx.default_device() != mx.cpu:
        pytest.skip("the float32 cast is the CPU's")
    out = tmp_path / "slim"
    args = ["export", "--model", str(src), "--keep", "0.5", "-o", str(out)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output
    written = mx.load(str(out / "model.safetensors"))
    floats = {v.dtype for v in written.values() if mx.issubdtype(v.dtype, mx.floating)}
    assert floats == {half}, floats
    assert (out / "model.safetensors").stat().st_size < (src / "model.safetensors").stat().st_size
    if not quantized:
        assert json.loads((out / "config.json").read_text())["torch_dtype"] == "bfloat16"
    net, _ = mlx_ifp.load(str(out))  # and it loads, as any mlx-lm folder
    assert net.layers[0].mlp.gate_proj.weight.shape[0] == 48
