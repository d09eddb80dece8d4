"""Data-parallel finetune under `mlx.launch -n 2` (ring, localhost): the ranks agree on when to
stop (a --max-seconds limit one rank reaches first, a Ctrl-C one rank sees first), so no rank is
left waiting in a collective that the others never join."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).parent


def launch(tmp_path, mode, timeout=120):
    from test_finetune import make_data

    data = make_data(tmp_path / "d")
    env = {**os.environ, "PYTHONPATH": f"{HERE}:{HERE.parent}", "OPENBLAS_NUM_THREADS": "1"}
    main = "from mlx._distributed_utils.launch import main; main()"  # what mlx.launch runs
    cmd = [sys.executable, "-c", main, "--backend", "ring", "-n", "2", "--python", sys.executable]
    cmd += [__file__, mode, data, str(tmp_path / "out")]
    try:
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:  # a rank left in a collective: it never returns
        pytest.fail(f"{mode}: the ranks hung ({(e.stderr or b'')[-1500:]!r})")
    return r, tmp_path / "out"  # mlx.launch exits 0 even when a rank failed: read the output


def test_max_seconds_reached_on_one_rank_stops_both(tmp_path):
    r, out = launch(tmp_path, "time")
    assert "exited with code" not in r.stderr, r.stdout[-2000:] + r.stderr[-2000:]
    state = json.loads((out / "trainer_state.json").read_text())
    assert state["step"] == 1 and len(state["history"]) == 1
    assert r.stdout.count("rank done at step 1") == 2, r.stdout


def test_ctrl_c_seen_by_one_rank_stops_both(tmp_path):
    r, out = launch(tmp_path, "sigint")
    assert r.stdout.count("rank interrupted at step 1") == 2, r.stdout + r.stderr[-2000:]
    assert "exited with code 1" not in r.stderr, r.stderr[-2000:]
    assert json.loads((out / "trainer_state.json").read_text())["step"] == 1


def test_tokens_seen_counts_every_ranks_inputs(tmp_path):
    """Not rank 0's share times the world size: the same total as one process on the batch."""
    from mlx_ifp.train import finetune

    from test_finetune import Tok, cfg_for
    from tiny import tiny_model

    r, out = launch(tmp_path, "plain")
    assert r.stdout.count("rank done at step 3") == 2, r.stdout + r.stderr[-2000:]
    one = finetune(
        cfg_for(str(tmp_path / "d"), tmp_path / "one", **PLAIN), tiny_model("llama"), Tok()
    )
    seen = [json.loads((o / "trainer_state.json").read_text())["run"] for o in (out, one)]
    assert seen[0]["tokens_seen"] == seen[1]["tokens_seen"] > 0, seen
    assert seen[0]["tokens"] == seen[1]["tokens"], seen


PLAIN = dict(iters=3, batch_size=4, save_every=100, train="lora")


def _rank_main(mode: str, data: str, out: str) -> None:
    import time

    from mlx_ifp.core import Interrupted
    from mlx_ifp.train import finetune, loop

    import mlx.core as mx
    from test_finetune import Tok, cfg_for
    from tiny import tiny_model

    rank = mx.distributed.init().rank()
    kw = dict(PLAIN, iters=6)
    if mode == "plain":
        kw = PLAIN
    elif mode == "time":  # rank 1's clock runs fast: it alone passes max_seconds, at its first step
        kw["max_seconds"] = 1000.0
        if rank == 1:
            clock = iter(range(0, 10**9, 10**4))
            time.perf_counter = lambda: float(next(clock))
    elif rank == 1:  # Ctrl-C reaches rank 1 only (or before the others), during its first step
        enter = loop.StopOnSigint.__enter__

        def early(self):
            enter(self)
            self.requested = True
            return self

        loop.StopOnSigint.__enter__ = early
    try:
        finetune(cfg_for(data, out, **kw), tiny_model("llama"), Tok())
    except Interrupted:
        state = json.loads((Path(out) / "trainer_state.json").read_text())
        print(f"rank interrupted at step {state['step']}", flush=True)
        return
    state = json.loads((Path(out) / "trainer_state.json").read_text())
    print(f"rank done at step {state['step']}", flush=True)


if __name__ == "__main__":
    _rank_main(*sys.argv[1:4])
