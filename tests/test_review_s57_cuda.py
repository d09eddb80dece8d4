"""Review (fifty-seventh session, cuda): what the review tests of the fifty-first to fifty-sixth
sessions found when run on CUDA (docs/results/cuda_tests/s57/), reproduced on the CPU.

- ``export --dequantize`` of a float16 packed model, no ``--dtype``: on the CPU config.json said
  ``"torch_dtype": "float16"``, on CUDA nothing (only the CPU's load casts to float32 and records
  the cast, which export undid and named). A load that casts nothing (``dtype="float16"`` here,
  any GPU) now gets the same config.
- ``tools/device_lanes.sh start KEEP`` with no arm, on a machine with ``nvidia-smi``: a Python
  ``ZeroDivisionError`` traceback (the memory limit split over zero lanes)."""

import json
import os
import subprocess
from pathlib import Path

import mlx_ifp

import mlx.core as mx
import mlx.nn as nn
from tiny import save_folder, tiny_model

ROOT = Path(__file__).resolve().parents[1]


def half_packed(tmp_path):
    model = tiny_model(quantize=True)
    half = lambda p: p.astype(mx.float16) if mx.issubdtype(p.dtype, mx.floating) else p  # noqa: E731
    model.update(nn.utils.tree_map(half, model.parameters()))
    return save_folder(model, tmp_path / "src", quantized=True)


def test_a_dequantized_export_names_its_floats_dtype_whatever_the_load_cast(tmp_path):
    src = half_packed(tmp_path)
    for name, kwargs in (("cpu", {}), ("gpu", {"dtype": "float16"})):  # gpu: a load casting none
        model, tok = mlx_ifp.load(str(src), dequantize=True, **kwargs)
        out = mlx_ifp.export(model, tok, tmp_path / name)
        config = json.loads((out / "config.json").read_text())
        assert config.get("torch_dtype") == "float16", (name, config.get("torch_dtype"))
        assert "quantization" not in config


def test_a_float_export_keeps_the_sources_torch_dtype(tmp_path):
    """Guard: a source that names its dtype keeps it (a bfloat16 folder stays bfloat16)."""
    model = tiny_model()
    bf = lambda p: p.astype(mx.bfloat16) if mx.issubdtype(p.dtype, mx.floating) else p  # noqa: E731
    model.update(nn.utils.tree_map(bf, model.parameters()))
    src = save_folder(model, tmp_path / "src")
    config = json.loads((src / "config.json").read_text())
    (src / "config.json").write_text(json.dumps({**config, "torch_dtype": "bfloat16"}))
    net, tok = mlx_ifp.load(str(src), dtype="bfloat16")
    out = mlx_ifp.export(net, tok, tmp_path / "out")
    assert json.loads((out / "config.json").read_text())["torch_dtype"] == "bfloat16"


def test_lanes_start_with_no_arm_beside_a_gpu_says_nothing_wrong(tmp_path):
    fake = tmp_path / "bin"
    fake.mkdir()
    (fake / "nvidia-smi").write_text("#!/bin/sh\necho 81559\n")
    (fake / "nvidia-smi").chmod(0o755)
    env = {**os.environ, "PATH": f"{fake}:/usr/bin:/bin", "LANES_DIR": str(tmp_path / "lanes")}
    env.pop("LANES", None)
    run = subprocess.run(["bash", str(ROOT / "tools/device_lanes.sh"), "start", "0.5"], env=env,
                         capture_output=True, text=True, timeout=30, cwd=tmp_path)  # fmt: skip
    assert "Traceback" not in run.stderr and "Error" not in run.stderr, run.stderr
