"""`mlx_ifp finetune`'s data and settings at their edges (forty-second session's review; each
test failed before its fix).

- mlx-lm's own tools record (LORA.md: an assistant turn of `tool_calls` with no `content`) was
  refused: "'messages' must be a list of {role, content} strings".
- `predictor: {k: 12}` (the budget, as ifp_config.json names it) trained at `keep`'s count
  without a word; n_layers, d_ffn, hidden and model were replaced by the model's, silently.
- `lora_keys` with one typo beside a good key trained only the good one, without a word;
  `lora_keys: [mlp]` (no linear layer) was mlx-lm's ValueError, a traceback.
"""

import mlx_ifp  # noqa: F401  first: the optimized BLAS before mlx.core
from mlx_ifp import UsageError
from mlx_ifp.bench.models import synthetic_tokenizer
from mlx_ifp.train import finetune, load_config
from mlx_ifp.train.batches import to_example

import pytest
from test_finetune import Tok, cfg_for, make_data
from test_review_s41_train import BosTok
from tiny import tiny_model

# a template that writes a tool call as the called function's name (a real one writes JSON)
TOOLS_TEMPLATE = (
    "{% for t in tools or [] %}{{ t['function']['name'] }} {% endfor %}"
    "{% for m in messages %}{% if m['role'] == 'assistant' %}t3 {% endif %}"
    "{% for c in m.get('tool_calls') or [] %}{{ c['function']['name'] }} {% endfor %}"
    "{% if m['content'] %}{{ m['content'] }} {% endif %}t2 {% endfor %}"
    "{% if add_generation_prompt %}t3 {% endif %}"
)
TOOLS = [{"type": "function", "function": {"name": "t9", "parameters": {}}}]
CALL = {"id": "c1", "type": "function", "function": {"name": "t8", "arguments": "{}"}}


def test_mlx_lms_tool_call_record_trains_on_the_call():
    """mlx-lm's LORA.md tools example: the assistant turn is a tool call without content."""
    tok = synthetic_tokenizer(128)
    tok._tokenizer.chat_template = TOOLS_TEMPLATE
    user = {"role": "user", "content": "t5 t6"}
    for call in (
        {"role": "assistant", "tool_calls": [CALL]},  # mlx-lm's: no content
        {"role": "assistant", "content": None, "tool_calls": [CALL]},
    ):  # OpenAI's
        e = to_example({"messages": [user, call], "tools": TOOLS}, tok, "sft")
        assert e.tokens == [9, 5, 6, 2, 3, 8, 2]  # the tool, the prompt, the call
        assert e.tokens[e.offset :] == [8, 2] and e.prompt == [5, 6, 2, 3]
    with pytest.raises(UsageError, match="F, line 4: 'truncated' marks a reply of text"):
        rec = {"messages": [user, call], "truncated": True, "_where": "F, line 4"}
        to_example(rec, tok, "sft")
    with pytest.raises(UsageError, match="F, line 2: 'messages' must be a list"):  # a user's
        bad = [{"role": "user", "tool_calls": [CALL]}, {"role": "assistant", "content": "t7"}]
        to_example({"messages": bad, "_where": "F, line 2"}, tok, "sft")  # content is needed
    with pytest.raises(UsageError, match="F, line 3: .*tool_calls.* needs a chat template"):
        rec = {"messages": [{"role": "user", "content": "5"}, call], "_where": "F, line 3"}
        to_example(rec, BosTok(), "sft")


@pytest.mark.parametrize(
    "block", [{"k": 12}, {"head": "factored", "n_layers": 30, "d_ffn": 1536}, {"hidden": 576}]
)
def test_predictor_settings_the_run_fills_in_are_refused(tmp_path, block):
    """`predictor: {k: 12}` (the budget as ifp_config.json names it) trained at `keep`'s count
    (48 of 96 here) without a word; n_layers, d_ffn, hidden, model: replaced by the model's."""
    data = tmp_path / "d"
    data.mkdir()
    with pytest.raises(UsageError, match="leave them out of the predictor block") as e:
        load_config(None, data=str(data), predictor=block)
    assert all(name in str(e.value) for name in set(block) - {"head"})
    load_config(None, data=str(data), predictor={"head": "factored", "layers": 2})  # as before


def test_a_lora_key_that_names_no_module_is_refused_beside_one_that_does(tmp_path):
    """`lora_keys: [self_attn.q_proj, self_attn.v_prj]` (a typo in one): only q_proj got LoRA,
    without a word (a list where no key matched was refused already); `lora_keys: [mlp]` (a
    module that is no linear layer): mlx-lm's ValueError, a traceback."""
    data = make_data(tmp_path / "d")
    keys = ["self_attn.q_proj", "self_attn.v_prj"]
    cfg = cfg_for(data, tmp_path / "o", train="lora", lora_keys=keys, iters=1)
    with pytest.raises(UsageError, match=r"lora_keys: self_attn.v_prj names no module"):
        finetune(cfg, tiny_model("llama"), Tok())
    assert not (tmp_path / "o").exists()
    cfg = cfg_for(data, tmp_path / "o", train="lora", lora_keys=["mlp"], iters=1)
    with pytest.raises(UsageError, match=r"lora_keys \['mlp'\]: Can't convert"):  # ValueError
        finetune(cfg, tiny_model("llama"), Tok())
    keys = ["self_attn.q_proj", "mlp.down_proj", "lm_head"]  # a block's modules, the model's
    out = finetune(cfg_for(data, tmp_path / "p", train="lora", lora_keys=keys, iters=1),
                   tiny_model("llama"), Tok())  # fmt: skip
    assert (out / "adapters.safetensors").is_file()


def test_a_truncated_mark_that_is_not_a_boolean_is_refused():
    """`"truncated": "true"` (a string) was read as not cut: the reply's end of turn trained."""
    tok = synthetic_tokenizer(128)
    rec = {"prompt": "t5 t6", "completion": "t7", "_where": "F, line 3"}
    for mark in ("true", 1, None):
        with pytest.raises(UsageError, match="F, line 3: 'truncated' must be true or false"):
            to_example({**rec, "truncated": mark}, tok, "sft")
    assert to_example({**rec, "truncated": True}, tok, "sft").ended is False
    assert to_example({**rec, "truncated": False}, tok, "sft").ended is True
