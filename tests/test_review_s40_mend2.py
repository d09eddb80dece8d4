"""`summed` under `mlx.launch -n 2` (ring, localhost): a step's inputs summed over the ranks
are exact past 2**24 (float32 rounds 2 * (2**24 + 1) to 2**25), and come back as ints."""

import os
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).parent
BIG = 2**24 + 1  # one rank's inputs in a step: a float32 sum of two of them is not exact


def test_summed_token_counts_are_exact_past_float32(tmp_path):
    env = {**os.environ, "PYTHONPATH": f"{HERE}:{HERE.parent}", "OPENBLAS_NUM_THREADS": "1"}
    main = "from mlx._distributed_utils.launch import main; main()"  # what mlx.launch runs
    cmd = [sys.executable, "-c", main, "--backend", "ring", "-n", "2", "--python", sys.executable]
    r = subprocess.run([*cmd, __file__], env=env, capture_output=True, text=True, timeout=60)
    want = f"summed [{2 * BIG}, 1, 0] int"
    assert r.stdout.count(want) == 2, r.stdout + r.stderr[-2000:]


if __name__ == "__main__":
    from mlx_ifp.train.loop import summed

    import mlx.core as mx

    group = mx.distributed.init()
    seen, flag, off = summed([BIG, group.rank() == 1, False], group)
    print(f"summed [{seen}, {flag}, {off}] {type(seen).__name__}", flush=True)
