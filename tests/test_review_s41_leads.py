"""Leads from the forty-first session's helpers, fixed here.

- ``finetune --max-seconds S`` counted only the training steps' own time: validation and
  checkpoint writing ran on top, so a run sized to a slot overran it (on a GPU, validation
  every 25 steps is a good share of the time).
"""

import json
import types
from pathlib import Path

from mlx_ifp.train import finetune, loop

from test_finetune import Tok, cfg_for, make_data
from tiny import tiny_model


def test_max_seconds_counts_validation_too(tmp_path, monkeypatch):
    now = [0.0]

    def clock() -> float:
        now[0] += 0.001  # a step's own time: a millisecond
        return now[0]

    real = loop.evaluate

    def slow_validation(*args, **kwargs):
        now[0] += 100.0  # a validation of 100 s
        return real(*args, **kwargs)

    monkeypatch.setattr(loop, "time", types.SimpleNamespace(perf_counter=clock))
    monkeypatch.setattr(loop, "evaluate", slow_validation)
    data, out = make_data(tmp_path / "d"), tmp_path / "o"
    finetune(cfg_for(data, out, iters=6, val_every=2, max_seconds=150), tiny_model("llama"), Tok())
    state = json.loads((Path(out) / "trainer_state.json").read_text())
    # validations at steps 0 and 2 (100 s each): past 150 s after step 3
    assert state["step"] == 3, state["step"]  # was 6: the steps alone took 0.01 s
