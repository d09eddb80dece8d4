"""Issue 14, crash-safe training: SIGKILL and Ctrl-C mid-run, leftovers of killed writers,
checkpoint checksums; a resumed run ends exactly where an uninterrupted one does. A full disk
while saving, and a missing, partial or foreign ``--resume`` checkpoint: one line each."""

import errno
import json
import os
import re
import shutil
import signal
import sys
from pathlib import Path

from mlx_ifp.common import Interrupted, UsageError, atomic_dir, sweep_leftovers
from mlx_ifp.train import finetune, loop
from mlx_ifp.train.checkpoint import read_state, restore, verify

import mlx.core as mx
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


def test_ctrl_c_saves_the_step_and_says_how_to_resume(tmp_path, monkeypatch):
    data = make_data(tmp_path / "d")
    kw = dict(train="lora", warmup=2, iters=40, save_every=1000)
    straight = finetune(cfg_for(data, tmp_path / "a", **kw), tiny_model("llama"), Tok())
    out = tmp_path / "b"
    advance, steps = loop.Progress.advance, []

    def press_ctrl_c_at_step_3(self, *a):  # a real SIGINT, at a known step on any machine
        # (a timer thread was too late on a loaded machine: all 40 steps ran first)
        advance(self, *a)
        steps.append(1)
        if len(steps) == 3:
            assert signal.getsignal(signal.SIGINT) is not signal.default_int_handler
            os.kill(os.getpid(), signal.SIGINT)

    monkeypatch.setattr(loop.Progress, "advance", press_ctrl_c_at_step_3)
    with pytest.raises(Interrupted) as e:
        finetune(cfg_for(data, out, **kw), tiny_model("llama"), Tok())
    monkeypatch.undo()
    assert f"finetune --resume {out}" in str(e.value)
    step = read_state(out)["step"]
    assert 3 <= step < 40  # saved, though save_every was never reached
    resumed = finetune(cfg_for(data, out, resume=str(out), **kw), tiny_model("llama"), Tok())
    np.testing.assert_allclose(history(straight), history(resumed), rtol=1e-6, atol=1e-7)


def test_sigkill_during_training_then_resume_matches_a_straight_run(tmp_path):
    result = kill_resume.run(kills=1, iters=20, seed=3, workdir=str(tmp_path))
    assert result["ok"], json.dumps(result, indent=2)
    assert result["max_weight_diff"] == 0.0 and result["per_kill"][0]["step_saved"] >= 1


# ------------------------------------------------------------ a full disk, a bad --resume


@pytest.mark.parametrize(
    "error",
    [OSError(errno.ENOSPC, "No space left on device"), RuntimeError("[write] Unable to write")],
    ids=["ENOSPC", "mlx-write-error"],  # what MLX's own writer raises on a full disk
)
def test_disk_full_while_saving_keeps_the_last_good_checkpoint(tmp_path, monkeypatch, error):
    data = make_data(tmp_path / "d")
    out = tmp_path / "o"
    kw = dict(train="lora", save_every=2)
    finetune(cfg_for(data, out, iters=2, **kw), tiny_model("llama"), Tok())
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    real = mx.save_safetensors

    def disk_full(path, *args, **kwargs):  # the predictor and adapters are written, then this
        if Path(path).name == "trainer_state.safetensors":
            Path(path).write_bytes(b"half a file")
            raise error
        return real(path, *args, **kwargs)

    monkeypatch.setattr(mx, "save_safetensors", disk_full)
    with pytest.raises(UsageError) as e:
        finetune(cfg_for(data, out, iters=4, resume=str(out), **kw), tiny_model("llama"), Tok())
    said = str(e.value)
    assert "\n" not in said and said.startswith(f"cannot save the checkpoint to {out}")
    assert f"stopped at step 4; last good checkpoint: {out} (step 2)" in said
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before  # intact
    assert sorted(os.listdir(tmp_path)) == ["d", "o"]  # no temporary folder left
    monkeypatch.setattr(mx, "save_safetensors", real)
    verify(out)
    done = finetune(cfg_for(data, out, iters=4, resume=str(out), **kw), tiny_model("llama"), Tok())
    assert read_state(done)["step"] == 4


@pytest.fixture(scope="module")
def ckpt(tmp_path_factory):
    """A LoRA run's checkpoint (step 2, keep 0.5) and its data."""
    root = tmp_path_factory.mktemp("ckpt")
    data = make_data(root / "d")
    out = finetune(cfg_for(data, root / "c", iters=2, train="lora"), tiny_model("llama"), Tok())
    return data, out


def resume_from(folder, data, tmp_path):
    """Resume into ``folder`` with a model path that does not exist: a check that came after
    loading the model would fail with ``model not found`` instead."""
    cfg = cfg_for(data, folder, iters=4, train="lora", resume=str(folder))
    cfg.model = str(tmp_path / "no-such-model")
    return finetune(cfg)


def test_resume_from_a_missing_folder_is_one_line_before_loading(ckpt, tmp_path):
    with pytest.raises(UsageError, match=r"not a training checkpoint: .*nope does not exist"):
        resume_from(tmp_path / "nope", ckpt[0], tmp_path)


@pytest.mark.parametrize(
    "missing",
    ["trainer_state.json", "predictor.safetensors", "ifp_config.json", "trainer_state.safetensors"]
    + ["adapters.safetensors", "adapter_config.json"],
)
def test_resume_from_a_partial_checkpoint_is_one_line_before_loading(ckpt, tmp_path, missing):
    folder = tmp_path / "partial"
    shutil.copytree(ckpt[1], folder)
    (folder / missing).unlink()
    with pytest.raises(UsageError, match=re.escape(missing)) as e:
        resume_from(folder, ckpt[0], tmp_path)
    assert "\n" not in str(e.value)
    assert ("no trainer_state.json" if missing == "trainer_state.json" else "incomplete") in str(
        e.value
    )


@pytest.mark.parametrize(
    "change, said",
    [
        (dict(seed_of_model=1), "was made for another model"),  # same shapes
        (
            dict(keep="0.25"),
            r"trained to keep 0\.5 \(48 channels per layer\), this run keeps 0\.25",
        ),
        (dict(predictor=dict(layers=2, rank=8, pooling="mean")), "predictor pooling 'last'"),
        (dict(train="frozen"), "train 'lora' \\(this run: 'frozen'\\)"),
        (dict(lora_rank=4), "lora_rank 8 \\(this run: 4\\)"),
    ],
    ids=["another-model", "another-keep", "another-predictor", "llm-frozen", "lora-rank"],
)
def test_resume_from_a_foreign_checkpoint_is_one_line_before_training(ckpt, tmp_path, change, said):
    data, made = ckpt
    folder = tmp_path / "c"
    shutil.copytree(made, folder)
    before = {p.name: p.read_bytes() for p in folder.iterdir()}
    change = dict(change)
    model = tiny_model("llama", seed=change.pop("seed_of_model", 0))
    kw = {"train": "lora", **change}
    cfg = cfg_for(data, folder, iters=4, resume=str(folder), **kw)
    with pytest.raises(UsageError, match=said) as e:
        finetune(cfg, model, Tok())
    assert "\n" not in str(e.value)
    assert {p.name: p.read_bytes() for p in folder.iterdir()} == before  # not trained on
