"""Issue 14, crash-safe training: SIGKILL and Ctrl-C mid-run, leftovers of killed writers,
checkpoint checksums; a resumed run ends exactly where an uninterrupted one does."""

import json
import os
import signal
import sys
import threading
import time
from pathlib import Path

from mlx_ifp.errors import Interrupted, UsageError
from mlx_ifp.paths import atomic_dir, sweep_leftovers
from mlx_ifp.train import finetune
from mlx_ifp.train.checkpoint import read_state, restore, verify

import numpy as np
import pytest
from test_finetune import Tok, cfg_for, history, make_data
from tiny import tiny_model

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tools"))

import kill_resume  # noqa: E402

DEAD = 2**22 + 12345  # above Linux's default pid_max: never a live process


def test_sweep_removes_a_dead_writers_temporaries_and_puts_back_the_original(tmp_path):
    out = tmp_path / "ckpt"
    (tmp_path / f".ckpt.tmp{DEAD}.x1").mkdir()
    (tmp_path / f".ckpt.tmp{DEAD}.x1" / "adapters.safetensors").write_bytes(b"half")
    (tmp_path / f".ckpt.old{DEAD}").mkdir()  # killed between the two renames: out is gone
    (tmp_path / f".ckpt.old{DEAD}" / "trainer_state.json").write_text("{}")
    mine = tmp_path / f".ckpt.tmp{os.getpid()}.x2"  # a live writer's: left alone
    mine.mkdir()
    swept = sweep_leftovers(out)
    assert len(swept) == 2 and (out / "trainer_state.json").is_file()
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["ckpt", mine.name])


def test_a_folder_write_never_replaces_a_file(tmp_path):
    target = tmp_path / "afile"
    target.write_text("precious")
    with pytest.raises(UsageError, match="existing file"):
        with atomic_dir(target):
            pass
    assert target.read_text() == "precious" and os.listdir(tmp_path) == ["afile"]


def test_checksums_name_the_corrupted_file(tmp_path):
    data = make_data(tmp_path / "d")
    out = finetune(cfg_for(data, tmp_path / "a", iters=2), tiny_model("llama"), Tok())
    state = read_state(out)
    assert set(state["sha256"]) == {"predictor.safetensors", "trainer_state.safetensors"}
    verify(out)
    raw = bytearray((out / "trainer_state.safetensors").read_bytes())
    raw[-4] ^= 0xFF
    (out / "trainer_state.safetensors").write_bytes(bytes(raw))
    with pytest.raises(UsageError, match="trainer_state.safetensors is corrupted"):
        restore(out, None, None, {})


def test_ctrl_c_saves_the_step_and_says_how_to_resume(tmp_path):
    data = make_data(tmp_path / "d")
    kw = dict(train="lora", warmup=2, iters=40, save_every=1000)
    straight = finetune(cfg_for(data, tmp_path / "a", **kw), tiny_model("llama"), Tok())
    out = tmp_path / "b"

    def press_ctrl_c():  # once the training loop has taken over SIGINT, a step or so in
        while signal.getsignal(signal.SIGINT) is signal.default_int_handler:
            time.sleep(0.005)
        time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGINT)

    threading.Thread(target=press_ctrl_c, daemon=True).start()
    with pytest.raises(Interrupted) as e:
        finetune(cfg_for(data, out, **kw), tiny_model("llama"), Tok())
    assert f"finetune --resume {out}" in str(e.value)
    step = read_state(out)["step"]
    assert 0 < step < 40  # saved, though save_every was never reached
    resumed = finetune(cfg_for(data, out, resume=str(out), **kw), tiny_model("llama"), Tok())
    np.testing.assert_allclose(history(straight), history(resumed), rtol=1e-6, atol=1e-7)


def test_sigkill_during_training_then_resume_matches_a_straight_run(tmp_path):
    result = kill_resume.run(kills=1, iters=20, seed=3, workdir=str(tmp_path))
    assert result["ok"], json.dumps(result, indent=2)
    assert result["max_weight_diff"] == 0.0 and result["per_kill"][0]["step_saved"] >= 1
