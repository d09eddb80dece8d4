"""Review of `finetune --end-weight W` (fifty-ninth session).

Failed before the fixes:
- a tokenizer whose end-of-turn ids lie past the model's vocabulary (an `eos_token_ids` of
  200 on a 128-token model) trained silently: MLX's gather read an id past the logits as a
  logit of 0 on the CPU (undefined in MLX), so the weight read a made-up probability; now
  such ids are left out, and a tokenizer with none left is refused in one line;
- a tokenizer with no end-of-turn token was refused only at the first step, after the whole
  data was read and tokenized; now right after the model loads, before the data;
- README's module table and Architecture diagram named `train/watch.py`, a module that does
  not exist (the commit made `train/diversity.py`).
The others guard what was checked and found sound: the compiled step with gradient accumulation,
LoRA with anchor and gradient checkpointing, and full training (the frozen copy as the source)
give the eager step's losses with the weight applied at some positions; a run saved before
`end_weight` existed resumes with the default.
"""

import json
import re
from pathlib import Path

from mlx_ifp.common import UsageError
from mlx_ifp.train import finetune, load_config, read_state
from mlx_ifp.train.batches import Batches, load_data
from mlx_ifp.train.objective import Joint, end_weights, forward

import mlx.core as mx
import numpy as np
import pytest
from test_finetune import Tok, cfg_for, history, make_data, setup
from tiny import tiny_model

README = Path(__file__).resolve().parent.parent / "README.md"
KW = dict(distill=1.0, ce=0.0, probe_prompts=0, end_weight=4.0)


class Past(Tok):
    eos_token_ids = {200}  # the tiny model's vocabulary is 128


class Half(Tok):
    """Ids 0..63, half the tiny model's vocabulary: its near-uniform source is over half sure
    of them at some positions and not at others, so the weight applies to some."""

    eos_token_ids = set(range(64))


def test_an_end_id_past_the_vocabulary_is_left_out_and_none_left_is_refused(tmp_path):
    data = make_data(tmp_path / "d")
    joint, _, _ = setup(data)
    assert Joint(joint.predictor, joint.llm, None, [3, 200, 128]).ends.tolist() == [3]
    assert Joint(joint.predictor, joint.llm, None, {127}).ends.tolist() == [127]
    said = r"no end-of-turn token the model has \(eos_token_ids \[200\]; its vocabulary: 128 "
    with pytest.raises(UsageError, match=said):
        finetune(cfg_for(data, tmp_path / "o", train="lora", **KW), tiny_model("llama"), Past())
    assert not (tmp_path / "o").exists()
    run = finetune(cfg_for(data, tmp_path / "p", train="lora", iters=1, **{**KW, "end_weight": 1}),
                   tiny_model("llama"), Past())  # fmt: skip
    assert len(history(run)) == 1  # the default weight reads no end token: the run goes on


def test_no_end_token_is_refused_before_the_data_is_read(tmp_path, monkeypatch):
    from mlx_ifp.train import loop

    def read(**kw):
        raise AssertionError("the data was read before the refusal")

    monkeypatch.setattr(loop, "load_data", read)
    data = make_data(tmp_path / "d")
    with pytest.raises(UsageError, match="the tokenizer names no end-of-turn token"):
        finetune(cfg_for(data, tmp_path / "o", train="lora", **KW), tiny_model("llama"), Tok())


def test_readme_names_only_modules_that_exist():
    text = README.read_text()
    package = README.parent / "mlx_ifp"
    row = next(line for line in text.splitlines() if line.startswith("| training |"))
    named = re.findall(r"`(\w+\.py)`", row.split("`data/`")[0])
    assert len(named) >= 6 and [n for n in named if not (package / "train" / n).exists()] == []
    diagram = text[text.index("## Architecture") :].split("```")[1]
    modules = set(re.findall(r"train/(\w+)", diagram))
    assert (
        len(modules) >= 5
        and [m for m in modules if not (package / "train" / f"{m}.py").exists()] == []
    )


def test_the_half_vocabulary_tokenizer_weighs_some_positions_not_all(tmp_path):
    """The premise of the runs below: the weight applies at some scored positions, not all."""
    data = make_data(tmp_path / "d")
    joint, cfg, k = setup(data)
    cfg.distill = 1.0
    train, _, _ = load_data(data, Tok(), "sft", 32)
    batch = Batches(train, 4, 0, 8)(0)
    _, w, teacher = forward(joint, batch, k, 0.5, cfg)
    weighed = ((end_weights(teacher, mx.array(sorted(Half.eos_token_ids)), 4.0) > 1) * w).sum()
    assert 0 < weighed.item() < w.sum().item()


@pytest.mark.parametrize(
    "setting",
    [dict(train="lora", anchor=0.5, grad_checkpoint=True), dict(train="full")],
    ids=["lora-anchor-checkpointed", "full"],
)
def test_compiled_accumulated_steps_give_the_eager_losses(tmp_path, setting):
    data = make_data(tmp_path / "d")
    kw = dict(iters=2, grad_accumulation=2, batch_size=2, **KW, **setting)
    runs = {}
    for mode in ("false", "true"):
        out = finetune(
            cfg_for(data, tmp_path / mode, compile=mode, **kw), tiny_model("llama"), Half()
        )
        runs[mode] = history(out)
    plain = finetune(cfg_for(data, tmp_path / "plain", **{**kw, "end_weight": 1.0}),
                     tiny_model("llama"), Half())  # fmt: skip
    np.testing.assert_allclose(runs["false"], runs["true"], rtol=1e-4, atol=1e-5)
    assert runs["false"][0] > history(plain)[0] * 1.05  # the weight did apply


def test_stage_1_weighs_where_the_source_is_sure_the_text_ends(tmp_path):
    """The weight applies in stage 1 too (README: there it reads the end of a text, whose EOS
    mlx-lm counts among the end-of-turn ids); here the half-vocabulary ids stand in for it."""
    data = make_data(tmp_path / "d", text=True)
    kw = dict(stage="pretrain", chunks=2, iters=1, max_seq_length=8, **KW)
    runs = [finetune(cfg_for(data, tmp_path / str(w), **{**kw, "end_weight": w}),
                     tiny_model("llama"), Half()) for w in (1.0, 4.0)]  # fmt: skip
    assert history(runs[1])[0] > history(runs[0])[0] * 1.05


def test_a_run_saved_before_end_weight_resumes_with_the_default(tmp_path):
    data = make_data(tmp_path / "d")
    kw = dict(train="lora", distill=1.0, ce=0.0, probe_prompts=0, eps_steps=4)  # eps: one span
    straight = finetune(cfg_for(data, tmp_path / "s", iters=4, **kw), tiny_model("llama"), Half())
    old = finetune(cfg_for(data, tmp_path / "o", iters=2, **kw), tiny_model("llama"), Half())
    state = json.loads((old / "trainer_state.json").read_text())
    del state["config"]["end_weight"]  # as a checkpoint of an older version has it
    (old / "trainer_state.json").write_text(json.dumps(state))
    saved = {k: v for k, v in read_state(old)["config"].items() if k != "output"}  # as the CLI
    cfg = load_config(None, saved=saved, resume=str(old), iters=4)
    assert cfg.end_weight == 1.0
    resumed = finetune(cfg, tiny_model("llama"), Half())
    np.testing.assert_allclose(history(resumed), history(straight), rtol=1e-5, atol=1e-6)
    assert json.loads((resumed / "trainer_state.json").read_text())["config"]["end_weight"] == 1
