"""Training memory: micro-batches one at a time, the run's device memory limit, the source's
dtype, and out of memory as one line."""

import subprocess
import sys

import mlx_ifp  # noqa: F401  (first: the optimized BLAS before mlx.core)
from mlx_ifp.common import UsageError
from mlx_ifp.train import finetune, load_config
from mlx_ifp.train.objective import gradients

import mlx.core as mx
import pytest
from test_finetune import Tok, cfg_for, make_data, setup
from tiny import tiny_model


def test_gradient_accumulation_holds_one_micro_batch_at_a_time(tmp_path):
    """Micro-batches exist to bound memory: accumulating 8 must peak near one, not at 8 x."""
    from mlx_ifp.train.batches import Batches, load_data

    data = make_data(tmp_path / "d", n_train=64)
    joint, cfg, k = setup(data, train="lora")
    train, _, _ = load_data(data, Tok(), "sft", 32)
    batch = Batches(train, 8)(0)

    def peak(n):
        mx.eval(joint.parameters())
        mx.clear_cache()
        mx.reset_peak_memory()
        base = mx.get_active_memory()
        grads, loss, _ = gradients(joint, [batch] * n, k, 0.5, cfg)
        mx.eval(grads, loss)
        return mx.get_peak_memory() - base

    one, eight = peak(1), peak(8)
    assert eight < 1.5 * one, (one, eight)


def test_memory_limit_holds_for_the_run_then_is_restored(tmp_path, monkeypatch):
    """Two runs on one GPU each take part of it: MLX's limit (it frees its cache before it)."""
    data = make_data(tmp_path / "d")
    seen, real = [], mx.set_memory_limit
    monkeypatch.setattr(mx, "set_memory_limit", lambda n: seen.append(n) or real(n))
    before = real(2**40)
    cache_before = mx.set_cache_limit(2**39)
    try:
        cfg = cfg_for(data, tmp_path / "o", iters=1, memory_limit=1.5)
        finetune(cfg, tiny_model("llama"), Tok())
        assert seen == [int(1.5e9), 2**40]  # set for the run, then the caller's back
        assert mx.set_cache_limit(cache_before) == 2**39
    finally:
        real(before)
        mx.set_cache_limit(cache_before)
    with pytest.raises(UsageError, match="memory_limit must be a number >= 0"):
        load_config(None, memory_limit=-1)


def test_dtype_reaches_the_source_load(tmp_path, monkeypatch):
    import mlx_ifp.models

    calls = []

    def fake_load(name, **kw):
        calls.append(kw)
        return tiny_model("llama"), Tok()

    monkeypatch.setattr(mlx_ifp.models, "load", fake_load)
    data = make_data(tmp_path / "d")
    finetune(cfg_for(data, tmp_path / "o", iters=1, dtype="bfloat16"))
    assert calls and calls[0]["dtype"] == "bfloat16"


def test_out_of_device_memory_in_a_step_names_the_step_and_the_fix(tmp_path, monkeypatch):
    """An allocator failure (as MLX's CUDA backend raises it) is one line with what to do."""
    from mlx_ifp.train import loop

    def failing_step(*args):
        def step(arrays, eps):
            raise RuntimeError("cudaMallocAsync(&data, size, stream) failed: out of memory")

        return step

    monkeypatch.setattr(loop, "make_step", failing_step)
    data = make_data(tmp_path / "d")
    with pytest.raises(UsageError, match=r"out of memory at step 1.*--grad-accumulation") as e:
        finetune(cfg_for(data, tmp_path / "o"), tiny_model("llama"), Tok())
    assert "\n" not in str(e.value)


def test_out_of_memory_anywhere_in_a_command_is_one_line():
    """Elsewhere (loading, validation, generation) the command's handler says it in one line."""
    code = """
import typer
import mlx_ifp
from mlx_ifp.cli import handle_errors

@handle_errors
def command():
    raise RuntimeError("cudaMallocAsync(&data, size, stream) failed: out of memory\\nmore")

try:
    command()
except typer.Exit as e:  # what typer's runner does with it
    raise SystemExit(e.exit_code)
"""
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert run.returncode == 2, run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: out of memory"), run.stderr
