"""Review (s48): an mlx-lm user moving to ``mlx_ifp generate`` / ``mlx_ifp chat``.

- ``--kv-bits`` with a dense prefill (the default with GRIFFIN, so on every model but the
  embedded SmolLM2): the prompt's KV cache was handed to mlx-lm unquantized, so the last prompt
  token attended to full-precision keys where ``mlx_lm generate`` quantizes after the prefill:
  at ``--keep 1.0`` greedy, another reply than mlx-lm's on the same folder.
- ``--extra-eos-token A B`` (mlx_lm's form, ``nargs="+"``): "unexpected extra argument (B)",
  no word that the flag is repeated here.
- ``chat --trust-remote-code`` (``mlx_lm chat``'s): no such option; ``chat --pipeline``: no
  word of what it is.

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp.cli import app, main

import mlx.core as mx
import mlx_lm
import pytest
from test_chat import TEMPLATE
from test_review_s44_flags import qwen
from test_serve import word_tokenizer
from tiny import endless_tokenizer, tiny_model
from typer.testing import CliRunner

PROMPT = "t5 t17 t3 t99 t42 t7 t8 t9 t10 t11 t12"


def test_kv_bits_with_a_dense_prefill_is_mlx_lms_reply_at_keep_1():
    """The dense prefill's cache reached mlx-lm unquantized: other tokens than mlx-lm's."""
    model, tok = qwen(), endless_tokenizer()
    kv = dict(kv_bits=4, kv_group_size=32, quantized_kv_start=0)  # (CUDA: no 2-bit kernel)
    kw = dict(mask_source="griffin", keep=1.0, chat_template=False, repick=0)
    theirs = list(mlx_lm.stream_generate(model, tok, tok.encode(PROMPT), 12, **kv))
    for prefill in ("dense", "slim"):
        ours = list(mlx_ifp.stream_generate(model, tok, PROMPT, 12, prefill=prefill, **kw, **kv))
        assert [r.token for r in ours] == [r.token for r in theirs], prefill
        assert mx.allclose(ours[0].logprobs, theirs[0].logprobs, atol=1e-4).item(), prefill


@pytest.mark.parametrize("command", [["generate", "-p", "hi"], ["chat"]])
def test_extra_eos_tokens_listed_as_in_mlx_lm_say_repeat_the_flag(command, capsys):
    """``--extra-eos-token a b``: "Got unexpected extra argument(s) (b)" and no more."""
    with pytest.raises(SystemExit) as e:
        main([*command, "--extra-eos-token", "a", "b"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert "--extra-eos-token a --extra-eos-token b" in err, err


def test_chat_pipeline_says_what_it_is(capsys):
    """``mlx_lm chat --pipeline`` (its distributed mode): "No such option" and no more."""
    with pytest.raises(SystemExit) as e:
        main(["chat", "--pipeline"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and "mlx_lm chat's --pipeline: not supported" in err, err


def test_chat_trust_remote_code_reaches_the_load(monkeypatch):
    """``mlx_lm chat --trust-remote-code``: no such option in ``mlx_ifp chat``."""
    seen = {}

    def load(*args, **kwargs):
        seen.update(kwargs)
        tok = word_tokenizer()
        tok._tokenizer.chat_template = TEMPLATE
        return tiny_model("llama"), tok

    monkeypatch.setattr(mlx_ifp, "load", load)
    args = ["chat", "--mask-source", "static", "-m", "2", "--trust-remote-code"]
    run = CliRunner().invoke(app, args, input="t5\nq\n")
    assert run.exit_code == 0 and seen.get("trust_remote_code") is True, run.output
