"""tools/plot_training.py puts a run's stages, and a continued stage 2, on one step axis."""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import plot_training  # noqa: E402


def test_a_continued_stage_two_goes_on_from_its_start_step():
    stage1 = {"step": 3, "history": [3.0, 2.0, 1.0], "val": [[3, 2.0, 0.9]], "config": {}}
    stage2 = {"step": 2, "history": [0.8, 0.7], "val": [[2, 1.5, 0.6]]}
    probe = [{"step": 3, "jaccard_across": 0.6}]
    cont = {"step": 4, "history": [0.9, 0.5], "val": [[4, 1.4, 0.5]], "diversity": probe}
    cont["config"] = {"start_step": 2}
    xs, loss, val, jac = plot_training.curves([stage1, stage2, cont])
    assert xs == [1, 2, 3, 4, 5, 6, 7] and loss == [3.0, 2.0, 1.0, 0.8, 0.7, 0.9, 0.5]
    assert val == [(3, 0.9), (5, 0.6), (7, 0.5)] and jac == [(6, 0.6)]
