"""Regressions of the thirty-seventh session's changes (a helper's review). Each test failed
before its fix; all run on tiny random models."""

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp.bench import run as bench_run

import mlx.core as mx
import mlx.nn as nn
import mlx_lm
import pytest
from tiny import save_folder
from tiny import tiny_model as tiny


class _Written(Exception):
    pass


def test_bench_e_times_the_exported_slim_model_in_the_dtype_it_ran(tmp_path, monkeypatch):
    """`export` now writes a CPU-cast model back in its source's dtype; bench's variant (e),
    "the same slim model through mlx_lm", then timed a float16 folder against (c)'s float32 slim
    model on CPU (float16 matmuls are ~4x slower there): its ratio measured the dtype."""
    if mx.default_device() != mx.cpu:
        pytest.skip("the float32 cast is the CPU's")
    model = tiny()
    model.update(
        nn.utils.tree_map(
            lambda p: p.astype(mx.float16) if mx.issubdtype(p.dtype, mx.floating) else p,
            model.parameters(),
        )
    )
    src = save_folder(model, tmp_path / "src")
    net, tok = mlx_ifp.load(str(src))  # float32 in memory: what (c) times
    slim, _ = mlx_ifp.select(net, tok, task="t1 t2", mask_source="griffin", keep=0.5)
    seen = {}

    def read_back(folder, *a, **k):
        written = mx.load(f"{folder}/model.safetensors")
        seen["dtypes"] = {v.dtype for v in written.values() if mx.issubdtype(v.dtype, mx.floating)}
        raise _Written

    monkeypatch.setattr(mlx_lm, "load", read_back)
    with pytest.raises(_Written):
        bench_run._exported(slim, tok, [1, 2, 3], 2, 1, lambda _: None)
    assert seen["dtypes"] == {mx.float32}, seen
