"""Review (s56): `mlx_ifp finetune` on a user's own data and runs, on a tiny random model.
Each test failed on the code it was written against, for the reason in its docstring.

- `finetune -c tweak.yaml --resume RUN`, the YAML naming a few settings only (its `data` and
  `model` were flags of the first run): the run's own settings were dropped for the defaults,
  so the resume failed on `train.jsonl is missing` (the default data, the current folder), and
  settings the checkpoint does not pin (the learning rates) went back to their defaults.
- `finetune --data CORPUS`, the folder `mlx_ifp data build` wrote (its splits are in sft/,
  chat/ and pretrain/): "train.jsonl is missing", with no word of the parts that hold one.
"""

import json

import pytest
from bad_world import words_data
from test_review_s48_hsmall import SMALL, finetune  # (the same tiny run and its caller)
from tiny import save_folder, tiny_model


@pytest.fixture
def first_run(tmp_path, capsys):
    """A finished 1-step run of flags only (`--model`, `--data`, a non-default rate)."""
    model = save_folder(tiny_model("llama"), tmp_path / "model")
    data, out = words_data(tmp_path / "data"), tmp_path / "o"
    flags = ["--model", str(model), "--data", str(data), "-o", str(out), "--predictor-lr", "0.02"]
    code, said = finetune(capsys, *flags, *SMALL)
    assert code == 0, said[-1500:]
    return out


def test_resume_with_a_partial_config_keeps_the_runs_settings(first_run, tmp_path, capsys):
    """`-c tweak.yaml --resume RUN`: before, `Error: no training examples: train.jsonl is
    missing` (the YAML names no data: the default, not the run's), and with `data`/`model`
    in the YAML the run's `predictor_lr` 0.02 went back to the default 0.001."""
    tweak = tmp_path / "tweak.yaml"
    tweak.write_text("save_every: 1\n")
    code, said = finetune(capsys, "-c", str(tweak), "--resume", str(first_run), "--iters", "2")
    assert code == 0, said[-1500:]
    state = json.loads((first_run / "trainer_state.json").read_text())
    assert state["step"] == 2
    assert state["config"]["predictor_lr"] == 0.02  # the run's, not the default
    assert state["config"]["save_every"] == 1  # the YAML's, over the run's


def test_resume_with_a_config_still_takes_the_configs_and_the_flags_settings(
    first_run, tmp_path, capsys
):
    """Guard (passed before): the YAML wins over the run's settings, the flags over both."""
    tweak = tmp_path / "tweak.yaml"
    root = first_run.parent
    tweak.write_text(f"model: {root / 'model'}\ndata: {root / 'data'}\npredictor_lr: 0.005\n")
    args = ["-c", str(tweak), "--resume", str(first_run), "--iters", "2", "--save-every", "2"]
    args += ["--val-every", "0", "--max-seq-length", "32"]
    code, said = finetune(capsys, *args)
    assert code == 0, said[-1500:]
    cfg = json.loads((first_run / "trainer_state.json").read_text())["config"]
    assert (cfg["predictor_lr"], cfg["save_every"], cfg["iters"]) == (0.005, 2, 2)


def test_data_naming_a_built_corpus_says_which_part_to_give(tmp_path, capsys):
    """`--data CORPUS` of `data build`'s layout: before, only "CORPUS/train.jsonl is missing"."""
    corpus = tmp_path / "corpus"
    for part in ("sft", "chat"):
        words_data(corpus / part)
    (corpus / "domains").mkdir()  # (no train.jsonl in it: not named)
    model = save_folder(tiny_model("llama"), tmp_path / "model")
    code, said = finetune(capsys, "--model", str(model), "--data", str(corpus), *SMALL)
    assert code == 2, said[-1500:]
    [line] = said.strip().splitlines()
    assert f"--data {corpus / 'chat'} or {corpus / 'sft'}?" in line, line
    assert "domains" not in line, line
