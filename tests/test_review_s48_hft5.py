"""Review (s48): `mlx_ifp finetune` on a user's own data, as an `mlx_lm lora` user brings it.

- mlx_lm lora reads records whose fields have other names through its config's
  `prompt_feature`, `completion_feature`, `chat_feature` and `text_feature` (a dataset of
  `{"instruction", "output"}`: `prompt_feature: instruction`, `completion_feature: output`).
  Here such a YAML was refused with "unknown config key(s): completion_feature,
  prompt_feature", and no setting read those records: the user had to rewrite the data. The
  four keys now mean what they do in mlx_lm (YAML only there and here), for every split and
  the mask-diversity probe; a resumed run reads its data as it did.
- A conversation that opens with the assistant (`[{"role": "assistant", ...}]`) was refused
  with "the chat template cannot format it (Cannot apply chat template to an empty
  conversation ...)": the conversation was not empty; it had no user turn, which the
  predictor reads. The line now says that.

Every test here fails on the code it was written against, for the reason in its docstring,
but ``test_a_run_serves_the_python_api_as_the_readme_says``: the API worked; the README said
nothing of it (it does now), and the test pins what it says.
"""

import json

from mlx_ifp import UsageError
from mlx_ifp.cli import main
from mlx_ifp.train import load_config
from mlx_ifp.train.batches import to_example
from mlx_ifp.train.objective import probe_set

import pytest
from bad_world import words_data
from tiny import endless_tokenizer, save_folder, tiny_model

SMALL = {"iters": 2, "batch_size": 2, "max_seq_length": 32, "val_every": 1, "save_every": 1}


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny model folder, the words data, and the same records with Alpaca's field names."""
    root = tmp_path_factory.mktemp("hft5")
    model = save_folder(tiny_model("llama"), root / "model")
    data = words_data(root / "data")
    alpaca = root / "alpaca"
    alpaca.mkdir()
    for split in ("train", "valid"):
        rows = [json.loads(line) for line in (data / f"{split}.jsonl").read_text().splitlines()]
        renamed = [{"instruction": r["prompt"], "output": r["completion"]} for r in rows]
        (alpaca / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in renamed))
    return {"model": model, "data": data, "alpaca": alpaca, "root": root}


def run(capsys, *args) -> tuple[int, str]:
    """``mlx_ifp finetune ARGS`` in this process: (exit code, stderr + stdout)."""
    with pytest.raises(SystemExit) as e:
        main(["finetune", *args])
    out = capsys.readouterr()
    return e.value.code, out.err + out.out


def yaml_run(capsys, world, tmp_path, name, **settings) -> dict:
    """A run from a YAML of ``settings`` (with SMALL); its trainer_state.json."""
    cfg = {"model": str(world["model"]), "output": str(tmp_path / name), **SMALL, **settings}
    (path := tmp_path / f"{name}.yaml").write_text(json.dumps(cfg))  # JSON is YAML
    code, said = run(capsys, "-c", str(path))
    assert code == 0, said[-1500:]
    return json.loads((tmp_path / name / "trainer_state.json").read_text())


def test_prompt_and_completion_feature_read_renamed_fields(world, tmp_path, capsys):
    """mlx_lm lora's `prompt_feature: instruction`, `completion_feature: output`: refused as
    unknown config keys. The run on the renamed records is the run on the original ones:
    the same losses and validation readings, step by step."""
    plain = yaml_run(capsys, world, tmp_path, "plain", data=str(world["data"]))
    renamed = yaml_run(capsys, world, tmp_path, "renamed", data=str(world["alpaca"]),
                       prompt_feature="instruction", completion_feature="output")  # fmt: skip
    assert renamed["history"] == plain["history"] and len(plain["history"]) == 2
    assert renamed["val"] == plain["val"] and len(plain["val"]) == 3  # valid.jsonl read too
    assert renamed["config"]["prompt_feature"] == "instruction"
    # a resumed run (no config) reads its data by the names it was trained with
    code, said = run(capsys, "--resume", str(tmp_path / "renamed"), "--iters", "3")
    assert code == 0, said[-1500:]


def test_chat_and_text_feature_name_the_other_formats():
    """`chat_feature: conversations` (ShareGPT-like) and `text_feature: content`: the same
    examples as from `messages` and `text`; a record without them names the fields looked for."""
    tok = endless_tokenizer()
    talk = [{"role": "user", "content": "t5 t6"}, {"role": "assistant", "content": "t7"}]
    keys = load_config(None, chat_feature="conversations", text_feature="content").features
    assert to_example({"conversations": talk}, tok, "sft", keys) == to_example(
        {"messages": talk}, tok, "sft"
    )
    assert to_example({"content": "t3 t4"}, tok, "pretrain", keys) == to_example(
        {"text": "t3 t4"}, tok, "pretrain"
    )
    with pytest.raises(UsageError, match="expected 'content', 'conversations' or 'prompt'"):
        to_example({"messages": talk, "_where": "F, line 1"}, tok, "sft", keys)


def test_a_feature_that_names_no_field_is_refused():
    """`prompt_feature:` (YAML's null) or the same field for prompt and completion."""
    with pytest.raises(UsageError, match="prompt_feature must be the name of a field"):
        load_config(None, prompt_feature=5)
    with pytest.raises(UsageError, match="are both 'x'"):
        load_config(None, prompt_feature="x", completion_feature="x")


def test_the_mask_probe_reads_renamed_prompts(tmp_path):
    """The mask-diversity probe (valid.jsonl's prompts by domain) read `prompt` alone: with
    `prompt_feature: instruction` it found no prompt and the run had no probe."""
    rows = [{"instruction": f"t{i + 3}", "output": "t9", "domain": d}
            for i, d in enumerate("aabb")]  # fmt: skip
    (tmp_path / "valid.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    keys = load_config(None, prompt_feature="instruction", completion_feature="output").features
    assert sorted(d for d, _ in probe_set(tmp_path, endless_tokenizer(), 4, keys=keys)) == [
        "a", "a", "b", "b"
    ]  # fmt: skip


def test_an_assistant_first_conversation_says_it_has_no_user_turn(smollm2_dir):
    """`[{"role": "assistant", ...}]` (with SmolLM2's chat template): "the chat template cannot
    format it (Cannot apply chat template to an empty conversation ...)"."""
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(str(smollm2_dir))
    rec = {"messages": [{"role": "assistant", "content": "hi"}], "_where": "F, line 2"}
    with pytest.raises(UsageError) as e:
        to_example(rec, tok, "sft")
    assert str(e.value) == "F, line 2: the prompt has no user turn"


def test_a_run_serves_the_python_api_as_the_readme_says(world, tmp_path, capsys):
    """README, Python API: `mlx_ifp.load(MODEL, adapter_path=RUN)`, then `generate` picks the
    masks with the run's predictor; a `keep` other than the run's warns once per pruner. (The
    README said how to use a run from the command line only.)"""
    import warnings

    import mlx_ifp
    from mlx_ifp.inference import KeepMismatch

    out = tmp_path / "run"
    code, said = run(capsys, "--model", str(world["model"]), "--data", str(world["data"]),
                     "-o", str(out), "--train", "lora", "--iters", "1", "--batch-size", "2",
                     "--max-seq-length", "32", "--val-every", "0")  # fmt: skip
    assert code == 0, said[-1500:]
    model, tok = mlx_ifp.load(str(world["model"]), adapter_path=str(out))
    r = list(mlx_ifp.stream_generate(model, tok, "t3 t4", 3))[-1]
    assert r.prune.mask.source == f"predictor({out})" and r.prune.mask.k == 48
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        pruner = mlx_ifp.Pruner(model, tok, keep=0.33)
        for prompt in ("t3 t4", "t5 t6"):
            mlx_ifp.generate(model, tok, prompt, max_tokens=2, pruner=pruner)
    assert [x.category for x in w] == [KeepMismatch]
    with warnings.catch_warnings(record=True) as w:  # the shared pruner of generate(keep=...)
        warnings.simplefilter("always")
        for prompt in ("t3 t4", "t5 t6"):
            mlx_ifp.generate(model, tok, prompt, max_tokens=2, keep=0.33)
    assert [x.category for x in w] == [KeepMismatch]
