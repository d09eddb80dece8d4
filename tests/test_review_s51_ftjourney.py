"""`mlx_ifp finetune` walked as a user coming from `mlx_lm lora` (fifty-first session review):
each case was a traceback or a many-line error where one `Error:` line belongs."""

from mlx_ifp import UsageError
from mlx_ifp.train import load_config

import pytest
from test_review_s48_hsmall import SMALL, finetune  # (the same tiny run and its caller)

#: (id, the config file's bytes, fragments of the one error line)
BAD_YAML = [
    ("unclosed-list", b"iters: [1\n", ("bad.yaml", "line 2")),
    ("bad-indent", b"iters: 1\n  bad: indent\n", ("bad.yaml", "line 2")),
    ("tab-indent", b"predictor:\n\tlayers: 2\n", ("bad.yaml", "line 2")),
    ("latin-1", b"iters: 1\n# caf\xe9\n", ("bad.yaml", "UTF-8")),
    ("control-character", b"iters: 1\x07\n", ("bad.yaml", "#x0007")),
]


@pytest.mark.parametrize("text, fragments", [c[1:] for c in BAD_YAML], ids=[c[0] for c in BAD_YAML])
def test_a_broken_config_file_is_one_line(tmp_path, text, fragments):
    """PyYAML's message runs over 4-6 lines (with the file called "<unicode string>"), and a
    file that is not UTF-8 raised UnicodeDecodeError (a traceback from the CLI)."""
    path = tmp_path / "bad.yaml"
    path.write_bytes(text)
    with pytest.raises(UsageError) as err:
        load_config(path)
    said = str(err.value)
    assert "\n" not in said, said
    assert "<unicode string>" not in said, said
    for fragment in fragments:
        assert fragment in said, said


def test_resume_on_another_model_of_the_same_shape_and_norms_is_said(tmp_path, capsys):
    """`--resume RUN --model FUSED` (the run's model with a LoRA fused in, by `mlx_lm.fuse`:
    its norms, so its fingerprint, unchanged) went on training against other weights without a
    word, where another data folder is said."""
    import json

    import mlx.core as mx
    from bad_world import words_data
    from tiny import save_folder, tiny_model

    model = save_folder(tiny_model("llama"), tmp_path / "model")
    other = tiny_model("llama")
    q = other.model.layers[0].self_attn.q_proj
    q.weight = q.weight + 0.5 * mx.ones(q.weight.shape)  # attention changed, norms kept
    fused = save_folder(other, tmp_path / "fused")
    data, out = words_data(tmp_path / "data"), tmp_path / "o"
    first = ["--model", str(model), "--data", str(data), "-o", str(out), *SMALL]
    code, said = finetune(capsys, *first)
    assert code == 0, said[-1500:]
    code, said = finetune(capsys, "--resume", str(out), "--iters", "2")  # its own model: no word
    assert code == 0 and "Warning" not in said, said[-1500:]
    code, said = finetune(capsys, "--resume", str(out), "--model", str(fused), "--iters", "3")
    assert code == 0, said[-1500:]
    warned = [line for line in said.splitlines() if line.startswith("Warning:")]
    assert len(warned) == 1 and str(model.resolve()) in warned[0], said[-1500:]
    assert str(fused.resolve()) in warned[0], warned
    assert json.loads((out / "trainer_state.json").read_text())["step"] == 3


def test_a_new_run_into_a_folder_that_holds_a_run_says_it_replaces_it(tmp_path, capsys):
    """The same command run again (`--resume` forgotten, as after a Ctrl-C) started over and
    replaced the earlier run at its first save without a word (mlx_lm lora overwrites its
    adapters silently too); now one warning line that names the folder, its step and --resume."""
    from bad_world import words_data
    from tiny import save_folder, tiny_model

    model = save_folder(tiny_model("llama"), tmp_path / "model")
    data, out = words_data(tmp_path / "data"), tmp_path / "o"
    first = ["--model", str(model), "--data", str(data), "-o", str(out), *SMALL]
    code, said = finetune(capsys, *first)
    assert code == 0 and "Warning" not in said, said[-1500:]  # a new folder: no word
    code, said = finetune(capsys, *first[:-8], *SMALL[2:], "--iters", "2")
    assert code == 0, said[-1500:]
    warned = [line for line in said.splitlines() if line.startswith("Warning:")]
    assert len(warned) == 1 and str(out) in warned[0], said[-1500:]
    assert "step 1" in warned[0] and f"--resume {out}" in warned[0], warned
    code, said = finetune(capsys, "--resume", str(out), "--iters", "3")  # resumed: no word
    assert code == 0 and "Warning" not in said, said[-1500:]
    more = ["--init-from", str(out), "--start-step", "3", "--iters", "4"]  # named: no word
    code, said = finetune(capsys, *first[:-8], *SMALL[2:], *more)
    assert code == 0 and "Warning" not in said, said[-1500:]


def test_a_max_seconds_stop_says_how_to_go_on(tmp_path, capsys):
    """A Ctrl-C names the command that continues the run; a --max-seconds stop said only
    `stopped at step 1: max_seconds 1e-09 reached`, then `Saved ...`, as a finished run does."""
    from bad_world import words_data
    from tiny import save_folder, tiny_model

    model = save_folder(tiny_model("llama"), tmp_path / "model")
    data, out = words_data(tmp_path / "data"), tmp_path / "o"
    run = ["--model", str(model), "--data", str(data), "-o", str(out), *SMALL[2:]]
    code, said = finetune(capsys, *run, "--iters", "5", "--max-seconds", "1e-9")
    assert code == 0, said[-1500:]
    stop = [line for line in said.splitlines() if line.startswith("stopped at step")]
    assert len(stop) == 1 and "max_seconds 1e-09 reached" in stop[0], said[-1500:]
    assert f"mlx_ifp finetune --resume {out}" in stop[0], stop
