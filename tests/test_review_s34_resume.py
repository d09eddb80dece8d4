"""`mlx_ifp finetune` resume exactness and what a resumed run records, found in the
thirty-fourth session's review (each failed before its fix).

- a run stopped by --max-seconds validated (and probed the masks) at its stop step, off the
  --val-every schedule: resumed, its validation history held steps a straight run's does not.
- a constant learning rate came back with the optimizer's state: `--resume --learning-rate X`
  (or --predictor-lr) trained on at the checkpoint's rate.
- Ctrl-C during the last step reported an interrupted run and skipped its final validation.
- validation ran the LoRA layers with dropout on: a noisy reading that depended on the random
  state, so a run resumed at a --val-every step recorded another validation CE there.
"""

import json
from pathlib import Path

from mlx_ifp.common import Interrupted
from mlx_ifp.train import finetune

import pytest
from test_finetune import Tok, cfg_for, make_data
from tiny import tiny_model


def state(out):
    return json.loads((Path(out) / "trainer_state.json").read_text())


def ctrl_c_after(m, step: int) -> None:
    """Patch (on ``m``, a monkeypatch) training's progress to send SIGINT once ``step`` is done."""
    import os
    import signal

    from mlx_ifp.train import loop

    advance = loop.Progress.advance

    def advance_then_ctrl_c(self, *a):
        advance(self, *a)
        if self.done == step:
            os.kill(os.getpid(), signal.SIGINT)

    m.setattr(loop.Progress, "advance", advance_then_ctrl_c)


def test_a_max_seconds_stop_validates_on_schedule_only(tmp_path):
    data = make_data(tmp_path / "d")
    kw = dict(train="lora", iters=4, val_every=2, save_every=10)
    straight = finetune(cfg_for(data, tmp_path / "a", **kw), tiny_model("llama"), Tok())
    out = tmp_path / "b"
    finetune(cfg_for(data, out, max_seconds=1e-9, **kw), tiny_model("llama"), Tok())  # 1 step
    assert state(out)["step"] == 1 and [v[0] for v in state(out)["val"]] == [0]
    for _ in range(3):
        cfg = cfg_for(data, out, max_seconds=1e-9, resume=str(out), **kw)
        finetune(cfg, tiny_model("llama"), Tok())
    assert state(out)["step"] == 4
    assert state(out)["val"] == state(straight)["val"]
    assert state(out)["history"] == state(straight)["history"]


def test_a_learning_rate_changed_on_resume_is_the_one_used(tmp_path):
    """A constant rate was restored with the optimizer's state: `--resume --learning-rate X`
    (allowed: only settings that shape the weights are refused) trained on at the old rate;
    a scheduled one took the new rate."""
    import mlx.core as mx

    data = make_data(tmp_path / "d")
    out = tmp_path / "b"
    finetune(cfg_for(data, out, iters=2, train="lora"), tiny_model("llama"), Tok())
    new = dict(learning_rate=3e-3, predictor_lr=2e-2)
    cfg = cfg_for(data, out, iters=3, train="lora", resume=str(out), **new)
    finetune(cfg, tiny_model("llama"), Tok())
    saved = mx.load(str(out / "trainer_state.safetensors"))
    assert saved["llm.learning_rate"].item() == mx.array(3e-3).item()
    assert saved["predictor.learning_rate"].item() == mx.array(2e-2).item()
    assert saved["llm.step"].item() == 3


def test_ctrl_c_in_the_last_step_finishes_the_run(tmp_path, monkeypatch):
    """Ctrl-C during the last step stopped the run as interrupted ("continue with --resume"),
    its final validation skipped: the folder differed from a straight run's."""
    data = make_data(tmp_path / "d")
    kw = dict(iters=2, val_every=2)
    straight = finetune(cfg_for(data, tmp_path / "a", **kw), tiny_model("llama"), Tok())
    ctrl_c_after(monkeypatch, 2)  # the last step
    out = finetune(cfg_for(data, tmp_path / "b", **kw), tiny_model("llama"), Tok())
    assert state(out)["val"] == state(straight)["val"] and state(out)["step"] == 2


def test_validation_runs_without_lora_dropout(tmp_path, monkeypatch):
    """Validation ran the LoRA layers in training mode: dropout made its CE noisy and a
    function of the random state, so a run resumed at a --val-every step validated it
    differently from a straight run."""
    data = make_data(tmp_path / "d")
    kw = dict(train="lora", iters=4, val_every=2, lora_dropout=0.3, save_every=10)
    straight = finetune(cfg_for(data, tmp_path / "a", **kw), tiny_model("llama"), Tok())
    out = tmp_path / "b"
    with monkeypatch.context() as m:
        ctrl_c_after(m, 2)
        with pytest.raises(Interrupted):
            finetune(cfg_for(data, out, **kw), tiny_model("llama"), Tok())
    finetune(cfg_for(data, out, resume=str(out), **kw), tiny_model("llama"), Tok())
    assert state(out)["val"] == state(straight)["val"]
    assert state(out)["history"] == state(straight)["history"]
    unvalidated = finetune(
        cfg_for(data, tmp_path / "c", **{**kw, "val_every": 0}), tiny_model("llama"), Tok()
    )
    assert state(unvalidated)["history"] == state(straight)["history"]  # dropout on in training
