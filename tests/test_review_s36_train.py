"""Review (s36): what a checkpoint save does to the rest of its folder.

The first test fails on the code it was written against, for the reason in its docstring; the
second guards the fix against keeping too much.
"""

import json

from mlx_ifp.train import finetune

from test_finetune import Tok, cfg_for, make_data
from tiny import tiny_model


def test_a_save_keeps_the_users_own_files_in_the_output_folder(tmp_path):
    """Each save replaced the whole folder: a note, a plot folder or a ``.gitignore`` put beside
    the checkpoint between saves (or before a ``--resume``) was deleted without a word."""
    data, out = make_data(tmp_path / "d"), tmp_path / "run"
    finetune(cfg_for(data, out, train="lora", iters=1, save_every=1), tiny_model("llama"), Tok())
    (out / "notes.txt").write_text("lr 1e-4 looked fine")
    (out / ".gitignore").write_text("*.safetensors\n")
    (out / "plots").mkdir()
    (out / "plots" / "loss.png").write_bytes(b"\x89PNG")
    resume = dict(train="lora", iters=3, save_every=1, resume=str(out))
    finetune(cfg_for(data, out, **resume), tiny_model("llama"), Tok())
    assert json.loads((out / "trainer_state.json").read_text())["step"] == 3
    assert (out / "notes.txt").read_text() == "lr 1e-4 looked fine"
    assert (out / ".gitignore").read_text() == "*.safetensors\n"
    assert (out / "plots" / "loss.png").read_bytes() == b"\x89PNG"


def test_an_earlier_runs_adapters_do_not_survive_a_frozen_run_over_them(tmp_path):
    """The carry-over keeps a user's files, not another run's checkpoint files: a frozen run
    written over a LoRA run's folder must not keep its adapters (load would apply them)."""
    data, out = make_data(tmp_path / "d"), tmp_path / "run"
    finetune(cfg_for(data, out, train="lora", iters=1, save_every=1), tiny_model("llama"), Tok())
    assert (out / "adapters.safetensors").is_file()
    finetune(cfg_for(data, out, train="frozen", iters=1, save_every=1), tiny_model("llama"), Tok())
    assert not (out / "adapters.safetensors").exists()
    assert not (out / "adapter_config.json").exists()


def test_a_pipe_in_the_output_folder_does_not_stop_the_run(tmp_path, capsys):
    """(the session's review) A named pipe beside the checkpoint made every later save fail
    with "free some space": the copy of the user's files tried to read it."""
    import os

    data, out = make_data(tmp_path / "d"), tmp_path / "run"
    finetune(cfg_for(data, out, train="lora", iters=1, save_every=1), tiny_model("llama"), Tok())
    os.mkfifo(out / "pipe")
    (out / "big.bin").write_bytes(b"x" * 1000)
    inode = (out / "big.bin").stat().st_ino
    resume = dict(train="lora", iters=2, save_every=1, resume=str(out))
    finetune(cfg_for(data, out, **resume), tiny_model("llama"), Tok())
    assert json.loads((out / "trainer_state.json").read_text())["step"] == 2
    assert (out / "big.bin").stat().st_ino == inode  # linked, not copied at every save


def test_the_settings_old_home_still_imports_with_a_warning():
    """The settings moved to ``train/config.py``; ``from mlx_ifp.train.checkpoint import
    load_config`` (what tests and tools used) must keep working, with a DeprecationWarning."""
    from mlx_ifp.train import config

    import pytest

    with pytest.warns(DeprecationWarning, match="moved to mlx_ifp.train.config"):
        from mlx_ifp.train.checkpoint import FinetuneConfig, load_config
    assert FinetuneConfig is config.FinetuneConfig and load_config is config.load_config
