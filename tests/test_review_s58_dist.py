"""`mlx_ifp finetune` under `mlx.launch -n 2` (fifty-eighth session's review of data-parallel
training; each test failed before its fix).

- Bad input (a missing data folder, a bad flag value, a model that is not there) was said once
  per rank: every process reads the same flags and files, so each printed the same `Error:`
  line (two lines for one mistake).
- Every rank seeded LoRA dropout with the same number (the step's), so rank 1 drew the very
  masks rank 0 drew: each dropout pattern came N times in a batch of N ranks, where one process
  draws one per row.
"""

import os
import subprocess
import sys
from pathlib import Path

import mlx_ifp  # noqa: F401  first: the optimized BLAS before mlx.core

import pytest
from test_finetune import make_data

HERE = Path(__file__).parent


def launch(tmp_path, mode: str, *flags: str) -> subprocess.CompletedProcess:
    """Two processes through mlx.launch (ring, localhost), each running the console script's
    ``main`` as it ends a process (``_rank_main``): a nonzero exit ends the other rank."""
    from tiny import save_folder, tiny_model

    if not (tmp_path / "model").exists():
        save_folder(tiny_model("llama"), tmp_path / "model")
        make_data(tmp_path / "d")
    env = {**os.environ, "PYTHONPATH": f"{HERE}:{HERE.parent}", "OPENBLAS_NUM_THREADS": "1"}
    main = "from mlx._distributed_utils.launch import main; main()"  # what mlx.launch runs
    cmd = [sys.executable, "-c", main, "--backend", "ring", "-n", "2", "--python", sys.executable]
    cmd += [__file__, mode, str(tmp_path), *flags]
    try:
        return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=90)
    except subprocess.TimeoutExpired as e:  # a rank left waiting for one that is gone
        pytest.fail(f"the processes hung ({(e.stderr or b'')[-1500:]!r})")


def errors(r: subprocess.CompletedProcess) -> list[str]:
    return [line for line in (r.stdout + r.stderr).splitlines() if "Error: " in line]


@pytest.mark.parametrize(
    "flags,said",
    [
        (["--data", "nodata"], "data folder not found: nodata"),  # a UsageError, after init
        (["--learning-rate", "abc"], "Invalid value for '--learning-rate'"),  # typer's parse
        (["--model", "nomodel"], "model not found: nomodel"),
    ],
)
def test_bad_input_on_two_ranks_is_said_once(tmp_path, flags, said):
    r = launch(tmp_path, "plain", *flags)
    lines = errors(r)
    assert len(lines) == 1, r.stdout + r.stderr[-3000:]  # before: one per rank
    assert lines[0].startswith("Error: ") and said in lines[0], lines  # rank 0's, unprefixed
    assert "Traceback" not in r.stderr, r.stderr[-3000:]
    assert "exited with code 2" in r.stderr, r.stderr[-3000:]  # (mlx.launch itself exits 0)
    assert not (tmp_path / "out").exists()


def test_bad_input_on_rank_1_alone_is_said_by_it_and_ends_both(tmp_path):
    """A folder missing on rank 1's host alone (no shared disk): rank 0 is not refused and
    waits for rank 1 in a collective; rank 1 says it (after its wait, naming itself), and
    exits, and the launcher ends rank 0: no rank is left waiting, one line."""
    r = launch(tmp_path, "rank1-data")
    lines = errors(r)
    assert len(lines) == 1 and lines[0].startswith("process 1 of 2: Error: "), r.stderr[-3000:]
    assert "data folder not found" in lines[0], lines
    assert "Traceback" not in r.stderr, r.stderr[-3000:]


def test_ranks_draw_their_own_lora_dropout(tmp_path):
    r = launch(tmp_path, "seeds", "--train", "lora", "-c", str(tmp_path / "c.yaml"))
    seeds = [line.split()[1:] for line in r.stdout.splitlines() if line.startswith("seeded ")]
    by_rank = {rank: [s for k, s in seeds if k == rank] for rank in ("0", "1")}
    zero, one = by_rank["0"], by_rank["1"]  # the LoRA's and predictor's init, then 2 steps
    assert len(zero) == len(one) >= 4 and zero[-4:-2] == one[-4:-2], by_rank  # one init
    assert len(set(zero[-2:] + one[-2:])) == 4, by_rank  # before: rank 1 seeded as rank 0 did
    assert "finetune: finished" in r.stderr, r.stderr[-2000:]


def test_rank_0_seeds_as_one_process_does(tmp_path, monkeypatch):
    """Guard: rank 0's seeds are those of a run of one process (its runs resume as before)."""
    from mlx_ifp.train import finetune

    import mlx.core as mx
    from test_finetune import Tok, cfg_for
    from tiny import tiny_model

    said = []
    seed = mx.random.seed
    monkeypatch.setattr(mx.random, "seed", lambda s: (said.append(s), seed(s))[1])
    data = make_data(tmp_path / "d")
    cfg = cfg_for(data, tmp_path / "o", iters=2, train="lora", seed=3)
    finetune(cfg, tiny_model("llama"), Tok())
    assert said[-2:] == [3 * 1_000_003 + 0, 3 * 1_000_003 + 1], said


def _rank_main(mode: str, root: str, *flags: str) -> None:
    from mlx_ifp.cli import finetune as finetune_cli
    from mlx_ifp.cli import main
    from mlx_ifp.train import loop

    import mlx.core as mx

    root = Path(root)
    rank = mx.distributed.init().rank()
    finetune_cli.HOLD_BACK_S = 15.0  # (the wait for rank 0: a loaded machine took more than 3 s)
    data = root / ("missing" if mode == "rank1-data" and rank == 1 else "d")
    if mode == "seeds":  # what each rank seeds its steps with (its LoRA dropout)
        (root / "c.yaml").write_text("lora_dropout: 0.5\n")
        seed = mx.random.seed

        def said(s):
            print(f"seeded {rank} {s}", flush=True)
            seed(s)

        mx.random.seed = said
        loop.mx.random.seed = said
    args = ["finetune", "--model", str(root / "model"), "--data", str(data)]
    args += ["-o", str(root / "out"), "--iters", "2", "--batch-size", "4"]
    args += ["--max-seq-length", "32", "--val-every", "0", *flags]
    main(args)  # as the console script: its SystemExit ends this process with its code


if __name__ == "__main__":
    _rank_main(*sys.argv[1:])
