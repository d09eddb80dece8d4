"""`mlx_ifp finetune` edges found in the thirty-fourth session's review (each failed before its
fix).

- token ids outside the model's vocabulary (a tokenizer that does not fit --model) trained on
  garbage rows silently, or crashed the process (a segfault) when far outside.
- stage 1 texts no longer than one chunk score no target: a corpus of them trained at loss 0.0
  with nothing said, and mixed in they only diluted batches.
- `--compile on`, `True` or any misspelling ran eagerly without a word.
- `--lora-rank`/`--lora-layers` without `--train lora`, `--learning-rate` with a frozen LLM and
  `--chunks` in stage 2 were silently ignored (mlx_lm lora's users expect LoRA by default).
- `lora_layers: 0` put LoRA on every layer (mlx-lm's `layers[-0:]`).
- a bad eps setting (`eps_start: 0`, `eps_schedule: cosine`) was refused only after the model
  and data had loaded.
- a malformed test.jsonl, which finetune never reads, stopped the run.
- a UTF-8 byte-order mark (Windows editors) made line 1 "not valid JSON"; `--data` naming
  train.jsonl itself said "data folder not found".
"""

import json
from pathlib import Path

import mlx_ifp.train
from mlx_ifp import UsageError
from mlx_ifp.cli import app
from mlx_ifp.train import finetune, load_config
from mlx_ifp.train.batches import load_data
from mlx_ifp.train.loop import compiling

import pytest
from bad_world import never_called
from test_finetune import Tok, cfg_for, make_data
from tiny import tiny_model
from typer.testing import CliRunner


def state(out):
    return json.loads((Path(out) / "trainer_state.json").read_text())


def write(folder: Path, split: str, rows: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


def test_token_ids_outside_the_vocabulary_are_one_line_naming_the_line(tmp_path):
    rows = [{"prompt": "5 6 7", "completion": "8 9"}] * 8
    data = write(
        tmp_path / "d", "train", [rows[0], {"prompt": "5 6", "completion": "7 128"}, *rows]
    )
    write(data, "valid", rows)
    with pytest.raises(UsageError, match=r"train\.jsonl, line 2: token id 128 .*vocabulary"):
        finetune(cfg_for(str(data), tmp_path / "o", iters=1), tiny_model("llama"), Tok())
    assert not (tmp_path / "o").exists()


def test_stage1_texts_no_longer_than_a_chunk_are_dropped_with_a_warning(tmp_path, capsys):
    short = [{"text": "5 6 7 8 9"}] * 8  # 5 tokens: chunk 0 of 8 holds them all, nothing scored
    data = write(tmp_path / "d", "train", short)
    kw = dict(stage="pretrain", chunks=4, iters=1)  # max_seq_length 32: chunks of 8
    with pytest.raises(UsageError, match="no training examples"):
        finetune(cfg_for(str(data), tmp_path / "a", **kw), tiny_model("llama"), Tok())
    long = [{"text": " ".join(str(5 + i) for i in range(20))}] * 4
    write(data, "train", short + long)
    out = finetune(cfg_for(str(data), tmp_path / "b", **kw), tiny_model("llama"), Tok())
    assert "8 of 12" in capsys.readouterr().err
    assert state(out)["run"]["tokens"] == 4 * (20 - 8)  # every row scores its targets past c


@pytest.mark.parametrize("value,compiled", [("on", True), ("True", True), ("off", False)])
def test_compile_spellings_are_read_or_refused(value, compiled):
    assert compiling(load_config(None, compile=value)) is compiled
    with pytest.raises(UsageError, match="compile"):
        load_config(None, compile="ture")


@pytest.mark.parametrize(
    "flags,said",
    [
        (["--lora-rank", "4"], "--lora-rank"),
        (["--train", "full", "--lora-layers", "2"], "--lora-layers"),
        (["--learning-rate", "1e-5"], "--learning-rate"),
        (["--chunks", "2"], "--chunks"),
    ],
)
def test_flags_this_run_would_ignore_are_one_error(tmp_path, monkeypatch, flags, said):
    monkeypatch.setattr(mlx_ifp.train, "finetune", never_called)
    args = ["finetune", "--data", str(tmp_path), "-o", str(tmp_path / "o"), *flags]
    run = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert run.exit_code == 2, run.output
    assert "Error:" in run.output and said in run.output, run.output


def test_lora_layers_zero_is_refused_not_every_layer():
    with pytest.raises(UsageError, match="lora_layers"):
        load_config(None, train="lora", lora_layers=0)
    assert load_config(None, train="lora", lora_layers=-1).lora_layers == -1


@pytest.mark.parametrize("bad", [{"eps_start": 0}, {"eps_schedule": "cosine"}])
def test_bad_eps_settings_are_refused_before_any_model_loads(bad):
    with pytest.raises(UsageError, match="eps"):
        load_config(None, **bad)


def test_a_malformed_test_split_does_not_stop_training(tmp_path):
    data = Path(make_data(tmp_path / "d"))
    (data / "test.jsonl").write_text('{"text": "unused", \n')
    out = finetune(cfg_for(str(data), tmp_path / "o", iters=1), tiny_model("llama"), Tok())
    assert state(out)["step"] == 1


def test_a_byte_order_mark_is_read_and_a_file_for_data_is_named(tmp_path):
    data = tmp_path / "d"
    data.mkdir()
    line = json.dumps({"prompt": "5 6", "completion": "7"}) + "\n"
    (data / "train.jsonl").write_bytes(b"\xef\xbb\xbf" + (line * 2).encode())
    train, _, _ = load_data(data, Tok(), "sft", 32)
    assert len(train) == 2
    with pytest.raises(UsageError, match="train.jsonl is a file"):
        load_data(data / "train.jsonl", Tok(), "sft", 32)


def test_no_grad_checkpoint_turns_a_config_setting_off(tmp_path, monkeypatch):
    """`grad_checkpoint: true` in a YAML (or the run --resume continues) had no flag to undo."""
    seen = []
    monkeypatch.setattr(mlx_ifp.train, "finetune", lambda cfg: seen.append(cfg) or tmp_path)
    (tmp_path / "c.yaml").write_text(f"data: {tmp_path}\ngrad_checkpoint: true\n")
    args = ["finetune", "-c", str(tmp_path / "c.yaml"), "--no-grad-checkpoint"]
    run = CliRunner().invoke(app, args, env={"COLUMNS": "200"})
    assert run.exit_code == 0, run.output
    assert seen[0].grad_checkpoint is False
