"""`mlx_ifp finetune` edges found in the thirty-second session's review (each failed before
its fix).

- --max-seconds counted the resumed run's total: a run stopped by it and resumed with the same
  setting (the saved config, or one GPU slice after another) stopped again after one step.
- --resume of a run continued with --init-from loaded (and needed) the --init-from folder again.
- a resumed run validated again at the step its checkpoint had just validated.
- YAML settings of the wrong kind (`lora_rank: two`, `data: 2024`, `probe_prompts: many`, a
  huge seed) were tracebacks; `lora_keys` that name no module trained no LLM weight silently;
  `val_batches: 0` recorded a validation CE of 0.0; `repick_share: 5e-1` was refused as text.
- a lone UTF-16 surrogate in the data was a traceback (stage 1) or blamed the chat template; an
  empty prompt was an error that named no file.
- the mask probe skipped chat (`messages`) records and crashed on a prompt written as a number
  or a line holding U+2028 (`data build` writes it raw).
"""

import json
from pathlib import Path

from mlx_ifp import UsageError
from mlx_ifp.bench.models import synthetic_tokenizer
from mlx_ifp.train import finetune, load_config
from mlx_ifp.train.batches import load_data
from mlx_ifp.train.objective import probe_set

import pytest
from test_finetune import Tok, cfg_for, make_data
from tiny import tiny_model


def state(out):
    return json.loads((Path(out) / "trainer_state.json").read_text())


def test_max_seconds_limits_each_run_not_the_resumed_total(tmp_path):
    data = make_data(tmp_path / "d")
    out = tmp_path / "a"
    finetune(cfg_for(data, out, iters=2), tiny_model("llama"), Tok())
    path = out / "trainer_state.json"
    saved = state(out)
    saved["run"]["seconds"] = 1e6  # a long run so far (the JSON holds no checksum of its own)
    path.write_text(json.dumps(saved))
    cfg = cfg_for(data, out, iters=4, max_seconds=1000, resume=str(out))
    finetune(cfg, tiny_model("llama"), Tok())
    assert state(out)["step"] == 4


def test_resuming_a_continued_run_needs_not_its_init_from_folder(tmp_path):
    data = make_data(tmp_path / "d")
    a, b = tmp_path / "a", tmp_path / "b"
    finetune(cfg_for(data, a, iters=2), tiny_model("llama"), Tok())
    finetune(cfg_for(data, b, iters=3, init_from=str(a), start_step=2), tiny_model("llama"), Tok())
    for f in a.iterdir():
        f.unlink()
    a.rmdir()
    saved = {**state(b)["config"], "iters": 4, "resume": str(b)}  # as `--resume b --iters 4`
    finetune(load_config(None, **saved), tiny_model("llama"), Tok())
    assert state(b)["step"] == 4


def test_a_resumed_run_validates_each_step_once_as_a_straight_run(tmp_path):
    data = make_data(tmp_path / "d")
    kw = dict(val_every=2, eps_steps=4)
    straight = finetune(cfg_for(data, tmp_path / "s", iters=4, **kw), tiny_model("llama"), Tok())
    first = finetune(cfg_for(data, tmp_path / "a", iters=2, **kw), tiny_model("llama"), Tok())
    cfg = cfg_for(data, first, iters=4, resume=str(first), **kw)
    finetune(cfg, tiny_model("llama"), Tok())
    assert [v[0] for v in state(first)["val"]] == [0, 2, 4]
    assert state(first)["val"] == state(straight)["val"]
    assert state(first)["history"] == state(straight)["history"]


@pytest.mark.parametrize(
    "setting",
    [
        {"lora_rank": "two"},
        {"lora_rank": 2.5},
        {"lora_rank": 0},
        {"lora_layers": "all"},
        {"data": 2024},
        {"output": 2024},
        {"probe_prompts": "many"},
        {"seed": 2**64},
        {"val_batches": 0},
        {"lora_keys": "mlp.gate_proj"},
        {"lora_keys": [1]},
    ],
    ids=lambda s: "-".join(f"{k}={v}" for k, v in s.items()),
)
def test_settings_of_the_wrong_kind_are_one_line_when_read(tmp_path, setting):
    name = next(iter(setting))
    base = dict(data=str(tmp_path), output=str(tmp_path / "o"), train="lora")
    with pytest.raises(UsageError, match=name):
        load_config(None, **{**base, **setting})


def test_repick_share_in_yaml_exponent_form_is_a_number(tmp_path):
    yaml = tmp_path / "run.yaml"
    yaml.write_text("repick: 4\nrepick_share: 5e-1\npredictor:\n  head: griffin\n")
    assert load_config(yaml).repick_share == 0.5


def test_lora_keys_that_name_no_module_are_refused(tmp_path):
    data = make_data(tmp_path / "d")
    cfg = cfg_for(data, tmp_path / "o", train="lora", lora_keys=["mlp.nope"], iters=1)
    with pytest.raises(UsageError, match="lora_keys"):
        finetune(cfg, tiny_model("llama"), Tok())
    assert not (tmp_path / "o").exists()


def write(folder: Path, rows: list[dict]) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for split in ("train", "valid"):
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    return folder


@pytest.mark.parametrize(
    "stage,row",
    [("pretrain", {"text": "t5 \ud800"}), ("sft", {"prompt": "t5 \ud800", "completion": "t6"})],
)
def test_a_lone_surrogate_in_the_data_is_one_line_naming_the_line(tmp_path, stage, row):
    data = write(tmp_path / "d", [{"text": "t5 t6", "prompt": "t5", "completion": "t6"}, row])
    with pytest.raises(UsageError, match=r"train\.jsonl, line 2: .*surrogate"):
        load_data(data, synthetic_tokenizer(128), stage, 32)


def test_an_empty_prompt_names_its_file_and_line(tmp_path):
    rows = [{"prompt": "5", "completion": "6"}, {"prompt": " ", "completion": "6"}]
    data = write(tmp_path / "d", rows)
    with pytest.raises(UsageError, match=r"train\.jsonl, line 2: the prompt .*is empty"):
        load_data(data, Tok(), "sft", 32)


def test_the_mask_probe_reads_chat_records_and_prompts_written_as_numbers(tmp_path):
    chat = lambda u: [{"role": "user", "content": u}, {"role": "assistant", "content": "9"}]  # noqa: E731
    rows = [{"messages": chat(f"{i} 7"), "domain": "ab"[i % 2]} for i in range(4)]
    rows += [{"prompt": 5, "completion": "6", "domain": "c"}]
    probes = probe_set(write(tmp_path / "d", rows), Tok(), 4)
    assert sorted(d for d, _ in probes) == ["a", "a", "b", "b", "c"]
    assert [toks for d, toks in probes if d == "c"] == [[5]]


def test_the_mask_probe_reads_lines_holding_u2028_as_the_trainer_does(tmp_path):
    """`data build` writes JSON with ensure_ascii=False: U+2028 and U+0085 stay raw in a line,
    which str.splitlines cut in two (a JSONDecodeError traceback after the model loaded)."""
    rows = [{"prompt": "5\u2028 6", "completion": "7\x85", "domain": "ab"[i % 2]} for i in range(4)]
    data = tmp_path / "d"
    data.mkdir()
    (data / "valid.jsonl").write_text(
        "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows)
    )
    assert sorted(d for d, _ in probe_set(data, Tok(), 4)) == ["a", "a", "b", "b"]
