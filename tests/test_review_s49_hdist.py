"""`mlx_ifp finetune` under `mlx.launch` (forty-ninth session's review of data-parallel
training; each test failed before its fix).

- `mlx.launch --backend nccl -n 2 ... finetune` where MLX has no NCCL (this CPU machine; a
  build without it): `mx.distributed.init()` quietly gave each process a world of one, so
  **both trained the whole batch alone, as rank 0, and wrote the same output folder**, with
  no word that the run was not data-parallel.
- A batch size the world size does not divide was refused only after the model load, and
  once per rank (two `Error:` lines for one mistake).
- A run started through `mlx.launch` with one process's flags said nothing of being
  data-parallel (each rank takes `batch_size / N` rows of the global batch; rank 0 writes).
"""

import os
import subprocess
import sys
from pathlib import Path

import mlx_ifp  # noqa: F401  first: the optimized BLAS before mlx.core
from mlx_ifp import UsageError
from mlx_ifp.train import Refused, finetune

import pytest
from test_finetune import Tok, cfg_for, make_data

HERE = Path(__file__).parent


def launch(tmp_path, backend: str, batch_size: int) -> subprocess.CompletedProcess:
    """Two processes through mlx.launch (localhost), each running the CLI (``_rank_main``)."""
    from tiny import save_folder, tiny_model

    model = save_folder(tiny_model("llama"), tmp_path / "model")
    make_data(tmp_path / "d")
    env = {**os.environ, "PYTHONPATH": f"{HERE}:{HERE.parent}", "OPENBLAS_NUM_THREADS": "1"}
    main = "from mlx._distributed_utils.launch import main; main()"  # what mlx.launch runs
    cmd = [sys.executable, "-c", main, "--backend", backend, "-n", "2", "--python", sys.executable]
    cmd += [__file__, str(model), str(tmp_path / "d"), str(tmp_path / "out"), str(batch_size)]
    try:
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the processes hung ({(e.stderr or b'')[-1500:]!r})")


def errors(r: subprocess.CompletedProcess) -> list[str]:
    return [line for line in (r.stdout + r.stderr).splitlines() if line.startswith("Error: ")]


def test_a_launch_whose_backend_is_missing_is_refused_not_run_twice(tmp_path):
    import mlx.core as mx

    if mx.distributed.is_available("nccl"):
        pytest.skip("this MLX has NCCL: the launch would work")
    r = launch(tmp_path, "nccl", 4)
    said = errors(r)
    assert len(said) == 1 and "process 0 of 2" in said[0], r.stdout + r.stderr[-3000:]
    assert "no working distributed backend" in said[0], said
    assert r.stdout.count("rank left with code 2") == 2, r.stdout + r.stderr[-3000:]
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    assert not (tmp_path / "out").exists()  # before: both processes trained and wrote it


def test_an_indivisible_batch_size_is_one_line_before_the_load(tmp_path):
    r = launch(tmp_path, "ring", 3)
    said = errors(r)
    assert len(said) == 1, r.stdout + r.stderr[-3000:]  # before: one per rank
    assert "batch size 3 is not divisible by 2 processes" in said[0], said
    assert "global" in said[0], said  # says what --batch-size means here
    assert r.stdout.count("rank left with code 2") == 2, r.stdout + r.stderr[-3000:]
    assert "loaded" not in r.stdout, r.stdout  # before: refused only after the model load


def test_a_data_parallel_run_says_so_once(tmp_path):
    r = launch(tmp_path, "ring", 4)
    assert r.stdout.count("rank left with code 0") == 2, r.stdout + r.stderr[-3000:]
    lines = r.stderr.splitlines()
    said = [line for line in lines if "data-parallel over 2 processes" in line]
    assert len(said) == 1 and "each takes 2 of a batch's 4 rows" in said[0], r.stderr[-3000:]
    assert sum(line.startswith("finetune: finished") for line in lines) == 1, r.stderr[-3000:]


@pytest.mark.parametrize("rank", ["0", "1"])
def test_launcher_says_two_processes_but_the_world_is_one(tmp_path, monkeypatch, rank):
    """The unit: a launcher's world size (mlx.launch's MLX_WORLD_SIZE, mpirun's) with a world
    of one from ``mx.distributed.init()``: refused before any work, rank 0 saying why."""
    from tiny import tiny_model

    monkeypatch.setenv("MLX_WORLD_SIZE", "2")
    monkeypatch.setenv("MLX_RANK", rank)
    cfg = cfg_for(make_data(tmp_path / "d"), tmp_path / "out")
    expected = UsageError if rank == "0" else Refused
    with pytest.raises(expected) as e:
        finetune(cfg, tiny_model("llama"), Tok())
    assert type(e.value) is expected
    if rank == "0":
        assert "process 0 of 2" in str(e.value) and "MLX_WORLD_SIZE" in str(e.value)
    assert not (tmp_path / "out").exists()


def _rank_main(model: str, data: str, out: str, batch_size: str) -> None:
    from mlx_ifp import models
    from mlx_ifp.cli import main

    load = models.load

    def said_load(*args, **kw):  # the test reads whether the model was loaded first
        print("loaded", flush=True)
        return load(*args, **kw)

    models.load = said_load
    args = ["finetune", "--model", model, "--data", data, "-o", out, "--iters", "2"]
    args += ["--batch-size", batch_size, "--max-seq-length", "32", "--val-every", "0"]
    try:
        main(args)
    except SystemExit as e:
        print(f"rank left with code {e.code}", flush=True)


if __name__ == "__main__":
    _rank_main(*sys.argv[1:5])
