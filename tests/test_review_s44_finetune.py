"""`mlx_ifp finetune` as an `mlx_lm lora` user runs it (forty-fourth session's review; each test
failed before its fix).

- `--task-share F` in a run split over ranks (`mlx.launch -n 2`): a task row's mask was the mean
  of the scores of the same-domain rows on its own rank only, not of the whole batch's, and
  the gradient left out what the other ranks' losses owed to a rank's scores: the run trained
  otherwise than one process on the same batch (step 2's loss 4.889 vs 4.956).
- `--grad-checkpoint` with `lora_dropout` > 0: the backward pass recomputed each block with
  new dropout masks, so every step applied the gradient of a forward pass it never ran.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import mlx_ifp  # noqa: F401  first: the optimized BLAS before mlx.core
from mlx_ifp import UsageError
from mlx_ifp.train import load_config

import mlx.core as mx
import pytest

HERE = Path(__file__).parent


def domain_data(folder: Path, n: int = 16) -> str:
    """Prompt/completion records of two domains, alternating (integers for test_finetune.Tok)."""
    import numpy as np

    rng = np.random.default_rng(0)
    folder.mkdir(parents=True, exist_ok=True)
    with open(folder / "train.jsonl", "w") as f:
        for i in range(n):
            p = " ".join(map(str, rng.integers(2, 120, int(rng.integers(3, 9)))))
            c = " ".join(map(str, rng.integers(2, 120, int(rng.integers(2, 12)))))
            f.write(json.dumps({"prompt": p, "completion": c, "domain": "ab"[i % 2]}) + "\n")
    return str(folder)


def test_task_rows_split_over_ranks_train_as_one_process(tmp_path):
    """Two ranks through mlx.launch (ring): the loss and gradients of a step over two
    micro-batches equal one process's on the same rows, task rows included."""
    data = domain_data(tmp_path / "d")
    env = {**os.environ, "PYTHONPATH": f"{HERE}:{HERE.parent}", "OPENBLAS_NUM_THREADS": "1"}
    main = "from mlx._distributed_utils.launch import main; main()"  # what mlx.launch runs
    cmd = [sys.executable, "-c", main, "--backend", "ring", "-n", "2", "--python", sys.executable]
    cmd += [__file__, data, str(tmp_path / "out.json")]
    try:
        r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=150)
    except subprocess.TimeoutExpired as e:
        pytest.fail(f"the ranks hung ({(e.stderr or b'')[-1500:]!r})")
    assert (tmp_path / "out.json").is_file(), r.stdout[-2000:] + r.stderr[-2000:]
    got = json.loads((tmp_path / "out.json").read_text())
    assert got["world"] == 2
    assert got["loss_split"] == pytest.approx(got["loss_whole"], rel=1e-5)
    assert got["worst"] < 1e-4, got  # before: 0.4 (relative, the worst parameter)


def _rank_main(data: str, out: str) -> None:
    """Rank side: one step's gradients split over the ranks, and on the whole batch."""
    from mlx_ifp.train.batches import Batches, load_data
    from mlx_ifp.train.objective import gradients

    from mlx.utils import tree_flatten, tree_map
    from test_finetune import Tok, setup

    group = mx.distributed.init()
    joint, cfg, k = setup(data, train="lora")
    cfg.task_share = 0.5  # the last 2 of each batch's 4 rows: the mean of their domain's others
    mx.random.seed(1)  # prompts with scores of their own (a fresh predictor gives all one)
    noise = lambda p: p + 0.2 * mx.random.normal(p.shape)  # noqa: E731
    joint.predictor.update(tree_map(noise, joint.predictor.parameters()))
    train = load_data(data, Tok(), "sft", cfg.max_seq_length, splits=("train",))[0]
    split, whole = Batches(train, 4, 0, 8, group), Batches(train, 4, 0, 8, None)
    g_split, l_split, _ = gradients(joint, [split(0), split(1)], k, 0.5, cfg, group)
    g_whole, l_whole, _ = gradients(joint, [whole(0), whole(1)], k, 0.5, cfg, None)
    mx.eval(g_split, l_split, g_whole, l_whole)
    if group.rank() == 0:
        a, b = dict(tree_flatten(g_split)), dict(tree_flatten(g_whole))
        rel = [(mx.abs(a[n] - b[n]).max() / (mx.abs(b[n]).max() + 1e-12)).item() for n in b]
        result = dict(world=group.size(), loss_split=l_split.item(), loss_whole=l_whole.item())
        Path(out).write_text(json.dumps({**result, "worst": max(rel)}))


def test_grad_checkpoint_with_lora_dropout_is_refused(tmp_path):
    """mx.checkpoint runs the block again in the backward pass, drawing new dropout masks: the
    gradient was another forward pass's (two 4-step runs parted at step 2). Refused at once."""
    base = dict(data=str(tmp_path), train="lora", grad_checkpoint=True)
    with pytest.raises(UsageError, match="grad_checkpoint.*lora_dropout 0"):
        load_config(None, lora_dropout=0.1, **base)
    assert load_config(None, lora_dropout=0.0, **base).grad_checkpoint  # each alone: as before
    assert load_config(None, **{**base, "grad_checkpoint": False}, lora_dropout=0.1)


if __name__ == "__main__":
    _rank_main(*sys.argv[1:3])
