"""`mlx_ifp finetune` as an `mlx_lm lora` user drives it (thirty-eighth session's review; each
test failed before its fix).

- `data: null` or `output: null` in a YAML config, and a key YAML reads as a number or null
  (`1: 2`), were TypeError tracebacks, not one `Error:` line.
- `--resume DIR` after a kill between the two renames of a save (DIR moved aside to
  `.DIR.old<pid>`, its replacement not yet in place) said "DIR does not exist": the command read
  the checkpoint before the run's clean-up put it back.
- `--resume DIR/adapters.safetensors` (mlx_lm's `--resume-adapter-file` takes a file) said the
  file "does not exist".
- a `null` prompt, completion or text trained on the word "None".
- `--help` called --batch-size "Examples per step": a step is batch size x grad accumulation.
- `--resume` with another model was refused only after the data was read, so a tokenizer that
  does not fit the data was reported instead of the model that does not fit the checkpoint.
"""

import json
import os

import mlx_ifp.train
from mlx_ifp import UsageError
from mlx_ifp.bench.models import synthetic_tokenizer
from mlx_ifp.cli import app
from mlx_ifp.train import finetune
from mlx_ifp.train.batches import load_data

import pytest
from test_finetune import Tok, cfg_for, make_data
from tiny import tiny_model
from typer.testing import CliRunner


def cli(*args):
    return CliRunner().invoke(app, ["finetune", *map(str, args)])


def one_error(run, fragment):
    assert run.exit_code == 2, (run.output, run.exception)
    assert f"Error: {fragment}" in run.output, run.output


@pytest.mark.parametrize(
    "lines, fragment",
    [("data: null", "data must be"), ("output: null", "output must be"), ("1: 2", "unknown")],
)
def test_yaml_nulls_and_keys_that_are_no_names_are_one_line(tmp_path, lines, fragment):
    data = make_data(tmp_path / "d")
    cfg = tmp_path / "run.yaml"
    cfg.write_text(f"data: {data}\noutput: {tmp_path / 'o'}\niters: 1\n{lines}\n")
    one_error(cli("-c", cfg), fragment)
    assert not (tmp_path / "o").exists()


def test_resume_after_a_kill_between_the_renames_of_a_save(tmp_path, monkeypatch):
    seen = []
    monkeypatch.setattr(mlx_ifp.train, "finetune", lambda cfg: seen.append(cfg) or tmp_path)
    run = tmp_path / "run"
    state = {"step": 2, "history": [1.0, 1.0], "config": {"data": "d", "iters": 2}}
    aside = tmp_path / ".run.old999999999"  # no such process: it was killed
    aside.mkdir()
    (aside / "trainer_state.json").write_text(json.dumps(state))
    result = cli("--resume", run, "--iters", 4)
    assert result.exit_code == 0, result.output
    assert seen[0].resume == str(run) and (run / "trainer_state.json").is_file()


def test_resume_given_a_checkpoint_file_names_the_folder(tmp_path):
    (tmp_path / "adapters.safetensors").write_bytes(b"x")
    run = cli("--resume", tmp_path / "adapters.safetensors")
    one_error(run, "")
    assert "does not exist" not in run.output and "folder" in run.output


@pytest.mark.parametrize(
    "stage, row",
    [
        ("sft", {"prompt": None, "completion": "t6"}),
        ("sft", {"prompt": "t5", "completion": None}),
        ("pretrain", {"text": None}),
        ("sft", {"prompt": "t5", "completion": ["t6"]}),
    ],
)
def test_a_null_value_in_the_data_is_one_line_naming_the_line(tmp_path, stage, row):
    folder = tmp_path / "d"
    folder.mkdir()
    rows = [{"prompt": "t5 t6", "completion": "t7", "text": "t5 t6 t7"}, row]
    (folder / "train.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    with pytest.raises(UsageError, match=r"train\.jsonl, line 2: .*(null|text)"):
        load_data(folder, synthetic_tokenizer(128), stage, 32)


def test_the_help_says_what_a_batch_is():
    run = CliRunner().invoke(app, ["finetune", "--help"], env={"COLUMNS": "400"})
    line = next(x for x in run.output.splitlines() if "--batch-size" in x)
    assert "per step" not in line and "micro-batch" in line


def test_resuming_with_another_model_is_refused_before_the_data_is_read(tmp_path):
    data = make_data(tmp_path / "d")  # token ids up to 119
    out = tmp_path / "o"
    finetune(cfg_for(data, out, iters=1), tiny_model("llama"), Tok())
    other = tiny_model("llama", vocab_size=64)  # another model: ids past 63 fit it not
    with pytest.raises(UsageError, match="another model"):
        finetune(cfg_for(data, out, iters=2, resume=str(out)), other, Tok())
    assert os.listdir(out)
