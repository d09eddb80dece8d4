"""Review (s44): leads in the generate / chat path.

- ``min_tokens_to_keep=None``, ``xtc_probability=None``, ``xtc_threshold=None`` were refused by
  the API (``must be a whole number >= 1, got None``) where every other None option means
  mlx-lm's default.
- ``kv_bits`` with a ``kv_group_size`` (mlx-lm's default 64 too) that does not divide the
  model's head size was MLX's ``ValueError`` ("[quantize] The last dimension ...") mid-reply.
- ``generate --kv-bits`` on a sliding-window model said ``Error: kv_bits: ...`` (the API's name).
- ``chat`` had no ``--chat-template-config`` nor ``--extra-eos-token`` (``generate`` has both).

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp import UsageError
from mlx_ifp.cli import app
from mlx_ifp.inference import check_options

import pytest
from bad_world import no_model_load
from test_review_s44_generate import templated
from tiny import endless_tokenizer, tiny_model
from typer.testing import CliRunner

PROMPT = "t5 t17 t3 t99 t42 t7"


def qwen():
    """A tiny qwen2 of head size 32 (hidden 128, 4 heads)."""
    return tiny_model("qwen2", hidden_size=128)


def gemma():
    """A tiny gemma3 whose sliding-window layers rotate their KV cache."""
    return tiny_model("gemma3_text", hidden_size=128, head_dim=32, query_pre_attn_scalar=32)


def errors(run) -> list[str]:
    return [line for line in run.output.splitlines() if line.startswith("Error:")]


def test_none_sampler_options_mean_mlx_lm_defaults():
    """``min_tokens_to_keep=None`` (and the XTC pair's None) was refused, not mlx-lm's default."""
    options = dict(min_tokens_to_keep=None, xtc_probability=None, xtc_threshold=None)
    assert check_options(options) == {} and options == {}
    tokens = [r.token for r in mlx_ifp.stream_generate(qwen(), endless_tokenizer(), PROMPT, 2,
              mask_source="static", chat_template=False, **dict.fromkeys(options))]  # fmt: skip
    assert len(tokens) == 2
    with pytest.raises(UsageError, match="min_tokens_to_keep must be a whole number >= 1"):
        check_options({"min_tokens_to_keep": 0})  # a value still checked


@pytest.mark.parametrize(
    "group, said",
    [
        (64, "kv_group_size 64 does not divide the model's head size 32 (fits: 32)"),
        (None, "kv_group_size 64 (mlx-lm's default) does not divide the model's head size 32"),
    ],
)
def test_a_kv_group_size_that_does_not_divide_the_head_size_is_refused_before_the_reply(
    group, said
):
    """MLX's ``[quantize] The last dimension ...`` ValueError at the first quantized token."""
    kw = dict(kv_bits=4, quantized_kv_start=0, chat_template=False, mask_source="static")
    kw |= {"kv_group_size": group} if group else {}
    with pytest.raises(UsageError) as e:
        list(mlx_ifp.stream_generate(qwen(), endless_tokenizer(), PROMPT, 2, **kw))
    assert said in str(e.value)


@pytest.fixture
def seen(monkeypatch):
    """What the command hands ``stream_generate`` (``load`` gives ``seen["model"]``)."""
    got = {"model": qwen}

    def stream(net, tok, prompt, max_tokens, **kw):
        got.update(kw, prompt=prompt)
        yield from ()

    monkeypatch.setattr(mlx_ifp, "load", lambda name, **kw: (got["model"](), templated()))
    monkeypatch.setattr(mlx_ifp, "stream_generate", stream)
    return got


def invoke(*args, input=None):
    return CliRunner().invoke(app, list(args), input=input, env={"COLUMNS": "300"})


@pytest.mark.parametrize(
    "model, args, said",
    [
        (
            qwen,
            ["--kv-group-size", "64"],
            "Error: --kv-group-size 64 does not divide the model's head size 32 (fits: 32)",
        ),  # fmt: skip
        (gemma, ["--kv-group-size", "32"], "Error: --kv-bits: the model's KV cache rotates"),
    ],
)
def test_generate_refuses_kv_bits_the_model_cannot_take_in_the_flags_words(seen, model, args,
                                                                           said):  # fmt: skip
    """A traceback mid-reply (the group size), or ``Error: kv_bits: ...`` (the API's name)."""
    seen["model"] = model
    run = invoke("generate", "-p", "hi", "--mask-source", "static", "--kv-bits", "4", *args)
    assert run.exit_code == 2 and errors(run) == [errors(run)[0]], run.output
    assert errors(run)[0].startswith(said) and "kv_bits" not in run.output, run.output
    assert "kv_bits" not in seen  # refused before the reply


def test_chat_takes_chat_template_config_and_extra_eos_token(seen, monkeypatch):
    """``--chat-template-config`` / ``--extra-eos-token`` were no options of ``chat``. (Since the
    forty-sixth session chat templates the conversation itself, for the KV cache it carries
    across turns: the config shows in the prompt's tokens.)"""
    tok = templated()
    tok._tokenizer.chat_template = "{% if flag %}t7 {% endif %}" + tok._tokenizer.chat_template
    monkeypatch.setattr(mlx_ifp, "load", lambda name, **kw: (seen["model"](), tok))
    args = ["--chat-template-config", '{"flag": true}', "--extra-eos-token", "t5"]
    run = invoke("chat", "--mask-source", "static", *args, input="t6\nq\n")
    assert run.exit_code == 0, run.output
    assert tok.decode(list(seen["prompt"])).split() == ["t7", "t6"]
    assert seen["extra_eos_tokens"] == ["t5"]


@pytest.mark.parametrize(
    "args, said",
    [
        (["--chat-template-config", "[1]"], "Error: --chat-template-config must be a JSON object"),
        (["--chat-template-config", '{"tokenize": 1}'], "Error: --chat-template-config cannot"),
    ],
)
def test_chat_refuses_a_bad_chat_template_config_before_the_load(monkeypatch, args, said):
    """No such option (exit 2 either way, but for the option, not its value)."""
    no_model_load(monkeypatch)
    run = invoke("chat", *args, input="q\n")
    assert run.exit_code == 2 and errors(run) and errors(run)[0].startswith(said), run.output


def test_chat_refuses_an_unknown_extra_eos_token_once_before_the_conversation(seen):
    """No such option; refused by the API at each message, the chat went on without a reply."""
    run = invoke("chat", "--mask-source", "static", "--extra-eos-token", "nope", input="hi\nq\n")
    assert run.exit_code == 2 and len(errors(run)) == 1, run.output
    assert "'nope' is not a token of this tokenizer" in errors(run)[0], run.output
    assert "extra_eos_tokens" not in seen
