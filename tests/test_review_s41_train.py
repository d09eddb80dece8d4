"""`mlx_ifp finetune`'s data as an `mlx_lm lora` user brings it (forty-first session's review;
each test failed before its fix).

- a prompt/completion or chat record, on a tokenizer with no chat template that adds a BOS
  (Llama 2, Mistral, Gemma base models), had a second BOS put before the reply: the first scored
  target was the BOS.
- mlx-lm's tools format (`{"messages": [...], "tools": [...]}`): the tools were dropped, so the
  model trained on a conversation without the tool definitions mlx-lm's chat template shows it.
- a record's error named its file and line twice.
- the run's summary called the validation CE "validation loss", beside a train loss that was
  the KL to the source in a distilled run (the shipped recipes train on the KL alone).
- `predictor: {backbone: PATH}` of a model with another tokenizer was fed the source's token ids
  (past its vocabulary, or other words) and trained on them without a word.
"""

import json

import mlx_ifp  # noqa: F401  first: the optimized BLAS before mlx.core
from mlx_ifp import UsageError
from mlx_ifp.bench.models import synthetic_tokenizer
from mlx_ifp.train import finetune
from mlx_ifp.train.batches import to_example

import mlx.core as mx
import pytest
from test_finetune import Tok, cfg_for, make_data
from tiny import save_folder, tiny_model


class BosTok:
    """Whitespace-separated integers; no chat template; a BOS (1) unless told not to, EOS 2."""

    bos_token, bos_token_id, eos_token_id = "1", 1, 2

    def encode(self, text, add_special_tokens=True, **kw):
        return [1] * add_special_tokens + [int(t) for t in text.split()]


@pytest.mark.parametrize(
    "rec",
    [
        {"prompt": "5 6", "completion": "7 8"},
        {"messages": [{"role": "user", "content": "5 6"}, {"role": "assistant", "content": "7 8"}]},
    ],
)
def test_no_second_bos_before_the_reply_without_a_chat_template(rec):
    e = to_example(rec, BosTok(), "sft")
    assert e.tokens == [1, 5, 6, 7, 8, 2]  # was [1, 5, 6, 1, 7, 8, 2]
    assert e.tokens[e.offset :] == [7, 8, 2]  # the first scored target is the reply's first
    assert to_example({"text": "5 6"}, BosTok(), "pretrain").tokens == [1, 5, 6, 2]


# an assistant turn is "t3 CONTENT t2", as a real template's header and end mark
TEMPLATE = (
    "{% for t in tools or [] %}{{ t['function']['name'] }} {% endfor %}"
    "{% for m in messages %}{% if m['role'] == 'assistant' %}t3 {% endif %}"
    "{{ m['content'] }} t2 {% endfor %}{% if add_generation_prompt %}t3 {% endif %}"
)


def tools_tokenizer():
    tok = synthetic_tokenizer(128)
    tok._tokenizer.chat_template = TEMPLATE
    return tok


def test_tools_reach_the_chat_template_as_mlx_lm_gives_them():
    tools = [{"type": "function", "function": {"name": "t9", "parameters": {}}}]
    messages = [{"role": "user", "content": "t5 t6"}, {"role": "assistant", "content": "t7"}]
    tok = tools_tokenizer()
    e = to_example({"messages": messages, "tools": tools}, tok, "sft")
    assert e.tokens == [9, 5, 6, 2, 3, 7, 2]  # the tool's definition first, as mlx-lm trains
    assert e.tokens[e.offset :] == [7, 2]
    plain = to_example({"messages": messages}, tok, "sft")  # no tools: as before
    assert plain.tokens == [5, 6, 2, 3, 7, 2] and plain.tokens[plain.offset :] == [7, 2]
    done = to_example({"prompt": "t5 t6", "completion": "t7", "tools": tools}, tok, "sft")
    assert done.tokens == e.tokens and done.offset == e.offset
    with pytest.raises(UsageError, match="F, line 4: 'tools' needs a chat template"):
        to_example({"messages": messages, "tools": tools, "_where": "F, line 4"}, BosTok(), "sft")


def test_a_record_error_names_its_line_once():
    rec = {"messages": [{"role": "user", "content": "5"}], "_where": "F, line 3"}
    with pytest.raises(UsageError) as e:
        to_example(rec, BosTok(), "sft")
    assert str(e.value) == "F, line 3: the conversation must end with an assistant message"


def test_the_summary_names_the_validation_reading_the_run_trains_on(tmp_path, capfd):
    """The shipped recipes train on the KL alone (`ce: 0`, `distill: 1`): the summary put the
    validation CE beside the train loss (a KL) as "validation loss", 5.07 against 0.01."""
    data = make_data(tmp_path / "d")
    cfg = cfg_for(data, tmp_path / "o", iters=2, val_every=2, ce=0.0, distill=1.0, quiet=False)
    out = finetune(cfg, tiny_model("llama"), Tok())
    val = json.loads((out / "trainer_state.json").read_text())["val"]
    lines = [x for x in capfd.readouterr().err.splitlines() if x.startswith("validation ")]
    assert lines == [f"validation KL to source {val[0][2]:.4f} (step 0) -> {val[-1][2]:.4f}"]
    cfg = cfg_for(data, tmp_path / "c", iters=2, val_every=2, quiet=False)  # CE alone
    val = json.loads((finetune(cfg, tiny_model("llama"), Tok()) / "trainer_state.json").read_text())
    lines = [x for x in capfd.readouterr().err.splitlines() if x.startswith("validation ")]
    assert lines == [f"validation CE {val['val'][0][1]:.4f} (step 0) -> {val['val'][-1][1]:.4f}"]


def test_a_separate_backbone_with_another_tokenizer_is_refused(tmp_path):
    """`predictor: {backbone: PATH}` is fed the source's token ids: a backbone of another
    tokenizer (here 64 tokens for the source's 128) trained on garbage embeddings, silently."""
    from mlx_ifp.sources.predictor import PredictorConfig, new_predictor

    model, tok = tiny_model("llama"), synthetic_tokenizer(128)
    other = save_folder(tiny_model("llama", vocab_size=64, seed=3), tmp_path / "other")
    for source_tok in (tok, Tok()):  # a vocabulary to compare, or the embedding rows
        with pytest.raises(UsageError, match="another tokenizer"):
            new_predictor(model, PredictorConfig(backbone=str(other), rank=8), source_tok)
    same = save_folder(tiny_model("llama", seed=3), tmp_path / "same")  # the same tokenizer
    pred = new_predictor(model, PredictorConfig(backbone=str(same), rank=8), tok)
    assert pred(mx.array([[5, 6, 7]])).shape == (1, 3, 96)
