"""Review (s44): ``mlx_ifp generate`` / ``chat`` and the inference API against what a user of
``mlx_lm generate`` / ``mlx_lm chat`` expects.

- ``generate -p - < prompt.txt`` of a file with a UTF-8 BOM (Windows editors write one): the
  prompt began with U+FEFF, tokens the model then read before the text (``--task @FILE`` drops
  it since the forty-first session).
- ``generate --mask M --align 64`` (``stream_generate(..., mask=m, align=64)``): the align was
  ignored without a word, where ``--keep`` beside a mask is refused (the mask fixes the channels).
- ``chat`` with a predictor that re-picks by default (the shipped one): the banner said "the mask
  comes from your first message", where each reply re-picks it every 16 tokens.
- ``chat``: a message longer than the context by itself, after an earlier turn: "r starts over",
  which cannot help (the message alone does not fit).
- The footer of a mask keeping 2 of 1536 channels said ``(0%)``, of 1535 ``(100%)``.
- ``generate --save-mask M`` of a reply that re-picked the mask once: "re-picked it 1 times".

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import io
import sys

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp import UsageError
from mlx_ifp.cli import app
from mlx_ifp.cli.generate import read_prompt
from mlx_ifp.inference import footer
from mlx_ifp.sources.predictor import PredictorConfig, new_predictor, save_predictor

import pytest
from bad_world import no_model_load
from test_chat import TEMPLATE
from test_serve import word_tokenizer
from tiny import finetune_folder, tiny_model
from typer.testing import CliRunner

PROMPT = "t5 t17 t3 t99 t42"


def templated():
    tok = word_tokenizer()
    tok._tokenizer.chat_template = TEMPLATE
    return tok


def test_a_prompt_on_stdin_with_a_utf8_bom_is_read_without_it(monkeypatch):
    """``-p -`` kept the BOM: the prompt was ``"\\ufeffName a river."``."""
    data = "\ufeffName a river.\n".encode()
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(data), encoding="utf-8"))
    assert read_prompt("-") == "Name a river.\n"


def test_generate_refuses_align_beside_a_mask_before_the_load(monkeypatch, tmp_path):
    """``--mask M --align 64`` ran with the mask's own count: the align was dropped silently."""
    no_model_load(monkeypatch)
    args = ["generate", "-p", "hi", "--mask", str(tmp_path / "m"), "--align", "64"]
    run = CliRunner().invoke(app, args)
    assert run.exit_code == 2, run.output
    assert "--align" in run.output and "--mask fixes the channels" in run.output


def test_stream_generate_refuses_an_align_the_given_mask_does_not_keep():
    """``mask=m, align=64`` with a mask of 48 channels: generated on the 48, align ignored."""
    model, tok = tiny_model("llama"), word_tokenizer()
    mask = mlx_ifp.Pruner(model, tok, "static", 48).slim_for(PROMPT)[1].mask
    kw = dict(mask=mask, chat_template=False)
    with pytest.raises(UsageError, match="align=64"):
        list(mlx_ifp.stream_generate(model, tok, PROMPT, 2, align=64, **kw))
    with pytest.raises(UsageError, match="align=64"):
        mlx_ifp.select(model, tok, PROMPT, mask=mask, align=64)
    assert list(mlx_ifp.stream_generate(model, tok, PROMPT, 2, align=16, **kw))  # 48 = 3 x 16


@pytest.fixture
def griffin_predictor(monkeypatch, tmp_path):
    """A finetune folder whose predictor reads GRIFFIN statistics (as the shipped one does, so
    it re-picks by default), for the tiny llama ``load`` returns (with a chat template)."""
    folder = finetune_folder(tiny_model("llama"), tmp_path / "ft", 48, train="frozen")
    save_predictor(new_predictor(tiny_model("llama"), PredictorConfig(head="griffin")), folder)
    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: (tiny_model("llama"), templated()))
    return folder


def test_the_chat_banner_says_the_mask_is_re_picked_along_each_reply(griffin_predictor):
    """The banner said the mask "comes from your first message" and no more."""
    args = ["chat", "--adapter", str(griffin_predictor), "-m", "2"]
    first = CliRunner().invoke(app, args, input="q\n").output.splitlines()[0]
    assert "from your first message, re-picked every 16 reply tokens" in first, first
    first = CliRunner().invoke(app, [*args, "--repick", "4"], input="q\n").output.splitlines()[0]
    assert "re-picked every 4 reply tokens" in first, first
    first = CliRunner().invoke(app, [*args, "--repick", "0"], input="q\n").output.splitlines()[0]
    assert first.endswith("the mask comes from your first message."), first


def long_chat(*messages: str):
    load = lambda *a, **k: (tiny_model("qwen3"), templated())  # noqa: E731  (context 512)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(mlx_ifp, "load", load)
        args = ["chat", "--mask-source", "griffin", "-m", "2"]
        return CliRunner().invoke(app, args, input="".join(f"{m}\n" for m in [*messages, "q"]))


def words(n: int) -> str:
    return " ".join(f"t{i % 100 + 2}" for i in range(n))


def test_chat_offers_no_new_conversation_for_a_message_too_long_by_itself():
    """After an earlier turn, a message of 600 tokens (the context: 512) was answered "the
    message is dropped; r starts over", and r could not make it fit."""
    run = long_chat("t5 t6", words(600))
    error = [line for line in run.output.splitlines() if "Error:" in line]
    assert len(error) == 1 and "context is 512" in error[0], run.output
    assert "r starts over" not in error[0] and "by itself" in error[0], error


def test_chat_still_offers_a_new_conversation_when_the_earlier_turns_fill_the_context():
    run = long_chat(words(300), words(300))
    error = [line for line in run.output.splitlines() if "Error:" in line]
    assert len(error) == 1 and error[0].endswith("; r starts over"), run.output


@pytest.mark.parametrize("keep, shown", [("2", "(0.13%)"), ("1535", "(99.93%)"), ("768", "(50%)")])
def test_the_footer_never_rounds_a_pruned_mask_to_0_or_100_percent(keep, shown):
    """``keep 2/1536 FFN channels per layer (0%)``; ``1535/1536 ... (100%)``."""
    model, tok = tiny_model("llama", intermediate_size=1536), word_tokenizer()
    *_, r = mlx_ifp.stream_generate(model, tok, PROMPT, 1, keep=keep, chat_template=False)
    mask = next(line for line in footer(r) if line.startswith("Mask:"))
    assert f"keep {keep}/1536 FFN channels per layer {shown}," in mask, mask


def test_saving_a_mask_re_picked_once_says_one_time(tmp_path):
    """``Saved mask to m.safetensors (the prompt's; the reply re-picked it 1 times)``."""
    from tiny import save_folder

    folder = save_folder(tiny_model("llama"), tmp_path / "model")
    args = ["generate", "--model", folder, "-p", PROMPT, "-m", "3", "--mask-source", "griffin"]
    args += ["--repick", "2", "--save-mask", tmp_path / "m", "--ignore-chat-template", "--quiet"]
    run = CliRunner().invoke(app, [str(a) for a in args])
    assert run.exit_code == 0, run.output
    assert "(the prompt's; the reply re-picked it 1 time)" in run.output, run.output
