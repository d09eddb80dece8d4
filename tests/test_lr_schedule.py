"""Learning-rate schedules: warm-up, hold, decay, for continued and resumed runs."""

from mlx_ifp.common import UsageError
from mlx_ifp.train import finetune
from mlx_ifp.train.loop import lr_schedule

import numpy as np
import pytest
from test_finetune import Tok, cfg_for, history, make_data
from tiny import tiny_model


@pytest.mark.parametrize("kind", ["cosine", "linear"])
def test_a_continued_run_decays_its_learning_rate_over_the_steps_it_takes(tmp_path, kind):
    """A run continued at start_step has a new optimizer: its decay reaches 0 at ``iters``,
    not halfway (the optimizer counts its own steps from 0)."""
    data = make_data(tmp_path / "d")
    pack = tmp_path / "p"
    pack.mkdir()
    kw = dict(lr_schedule=kind, warmup=2, learning_rate=1e-3)
    full = lr_schedule(1e-3, cfg_for(data, tmp_path / "a", iters=10, **kw))
    cont = lr_schedule(1e-3, cfg_for(data, tmp_path / "b", iters=10, init_from=str(pack),
                                     start_step=6, **kw))  # fmt: skip
    assert float(full(2)) == pytest.approx(1e-3) and float(cont(2)) == pytest.approx(1e-3)
    assert float(full(4)) > 5e-4  # steps 6..9 of a straight run: still high at the 4th
    assert float(cont(4)) < 1e-6 < float(cont(3))  # 4 steps taken: warm-up 2, decay 2


@pytest.mark.parametrize("kind", ["cosine", "linear"])
def test_decay_start_holds_the_rate_then_decays_to_zero_at_iters(tmp_path, kind):
    data = make_data(tmp_path / "d")
    kw = dict(lr_schedule=kind, warmup=2, learning_rate=1e-3, iters=10)
    f = lr_schedule(1e-3, cfg_for(data, tmp_path / "a", decay_start=6, **kw))
    assert float(f(1)) == pytest.approx(5e-4)  # warming up
    assert [float(f(s)) for s in (2, 4, 6)] == pytest.approx([1e-3] * 3)  # held
    assert 0 < float(f(8)) < 1e-3 and float(f(10)) == pytest.approx(0, abs=1e-9)
    now = lr_schedule(1e-3, cfg_for(data, tmp_path / "b", **kw))  # 0: decays from the warm-up
    assert float(now(4)) < 1e-3
    for bad in (dict(decay_start=10), dict(decay_start=4, lr_schedule="constant")):
        with pytest.raises(UsageError, match="decay_start"):
            cfg_for(data, tmp_path / "c", **{**kw, **bad})


def test_a_constant_run_resumed_with_a_decay_continues_its_optimizer(tmp_path):
    """A run stopped at step 3 on a constant rate and resumed with a cosine from step 3 on
    repeats the losses of one straight run on that schedule: the restored optimizer's step
    count drives the new schedule (no restart, no second warm-up)."""
    data = make_data(tmp_path / "d")
    kw = dict(train="lora", warmup=2, eps_steps=7, learning_rate=3e-2, predictor_lr=3e-2)
    later = dict(lr_schedule="cosine", decay_start=3)
    straight = finetune(
        cfg_for(data, tmp_path / "a", iters=7, **kw, **later), tiny_model("llama"), Tok()
    )
    finetune(cfg_for(data, tmp_path / "b", iters=3, **kw), tiny_model("llama"), Tok())
    resumed = cfg_for(data, tmp_path / "b", iters=7, resume=str(tmp_path / "b"), **kw, **later)
    a, b = history(straight), history(finetune(resumed, tiny_model("llama"), Tok()))
    assert len(a) == len(b) == 7
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    held = history(
        finetune(cfg_for(data, tmp_path / "c", iters=7, **kw), tiny_model("llama"), Tok())
    )
    assert not np.allclose(a[4:], held[4:], rtol=1e-5, atol=1e-6)  # the decay did change steps
