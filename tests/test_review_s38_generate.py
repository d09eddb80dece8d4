"""Review (s38): ``generate`` and ``stream_generate`` against what an mlx-lm user expects.

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp.cli.generate import check_template
from mlx_ifp.core import format_chat, messages_for

import mlx_lm
import pytest
from mlx_lm.sample_utils import make_logits_processors, make_sampler
from tiny import endless_tokenizer, tiny_model

PROMPT = " ".join(f"t{i}" for i in [5, 17, 3, 99, 42, 8, 61, 7])
KW = dict(chat_template=False, mask_source="griffin", keep=0.5)


@pytest.fixture(scope="module")
def tiny():
    return tiny_model("llama"), endless_tokenizer()


def _ids(model, tok, **kw):
    return [r.token for r in mlx_ifp.stream_generate(model, tok, PROMPT, 5, **KW, **kw)]


def test_verbose_prints_like_mlx_lm(tiny, capsys):
    """``generate(..., verbose=True)`` left out mlx-lm's opening ``==========`` line: the reply
    ran straight on from whatever was printed before."""
    model, tok = tiny
    text = mlx_ifp.generate(model, tok, PROMPT, verbose=True, max_tokens=3, **KW)
    ours = capsys.readouterr().out.splitlines()
    mlx_lm.generate(model, tok, PROMPT, verbose=True, max_tokens=3)
    theirs = capsys.readouterr().out.splitlines()
    assert ours[0] == theirs[0] == "=" * 10
    assert ours[1] == text and ours[2] == theirs[2] == "=" * 10
    assert [x.split(":")[0] for x in ours[3:6]] == [x.split(":")[0] for x in theirs[3:6]]


def test_no_logits_processors_is_as_none(tiny):
    """mlx-lm's ``make_logits_processors()`` with no penalty is ``[]``: passed on as mlx-lm code
    does, it turned the dense prefill off (another reply) and ``prefill="dense"`` was refused
    ("cannot be combined with logits_processors")."""
    model, tok = tiny
    none = make_logits_processors()
    assert none == []
    assert _ids(model, tok, logits_processors=none) == _ids(model, tok)
    *_, last = mlx_ifp.stream_generate(
        model, tok, PROMPT, 3, prefill="dense", logits_processors=none, **KW
    )
    assert last.prune.prefill_s > 0


@pytest.mark.parametrize("kw", [dict(temp=0.7), dict(top_k=5), dict(top_p=0.9), dict(min_p=0.1)])
def test_a_sampler_beside_the_sampling_options_is_refused(tiny, kw):
    """With ``sampler=``, ``temp``/``top_p``/``min_p``/``top_k`` were silently dropped (the
    reply was the sampler's alone): now one line, before any work."""
    model, tok = tiny
    with pytest.raises(mlx_ifp.UsageError, match="sampler"):
        mlx_ifp.generate(model, tok, PROMPT, max_tokens=2, sampler=make_sampler(0.0), **KW, **kw)
    greedy = _ids(model, tok)  # a sampler alone, or with the defaults spelt out: as before
    assert _ids(model, tok, sampler=make_sampler(0.0)) == greedy
    assert _ids(model, tok, sampler=make_sampler(0.0), temp=0.0, top_p=1.0, top_k=0) == greedy
    assert _ids(model, tok, sampler=None, temp=0.0) == greedy


DEFAULT_SYSTEM = (
    "{% if messages[0]['role'] != 'system' %}[sys]default[/sys]{% endif %}"
    "{% for m in messages %}[{{ m['role'] }}]{{ m['content'] }}[/{{ m['role'] }}]{% endfor %}"
)


def test_an_empty_system_prompt_is_sent_as_mlx_lm_sends_it(tiny):
    """``--system-prompt ""`` (mlx-lm's way to drop a template's default system message, as
    SmolLM2's and Qwen2.5's insert) was read as no system prompt: the default came back."""
    model, _ = tiny
    tok = endless_tokenizer()
    tok._tokenizer.chat_template = DEFAULT_SYSTEM
    text = format_chat(tok, messages_for("t5", ""))
    assert text.startswith("[system][/system][user]t5") and "default" not in text
    assert "default" in format_chat(tok, messages_for("t5"))  # none given: the template's own
    check_template(tok, "")  # accepted (a template that refuses it would say so here)
    untemplated = endless_tokenizer()
    assert format_chat(untemplated, messages_for("t5", "")) == "t5"  # no template: nothing added
    with pytest.raises(mlx_ifp.UsageError, match="chat template"):
        mlx_ifp.generate(model, untemplated, PROMPT, max_tokens=2, system_prompt="", **KW)


def test_the_cli_refuses_an_empty_system_prompt_it_cannot_send(capsys):
    """``--system-prompt "" --ignore-chat-template`` went on to load the model (and dropped it)."""
    from mlx_ifp.cli import main

    with pytest.raises(SystemExit) as e:
        main(["generate", "-p", "hi", "--system-prompt", "", "--ignore-chat-template",
              "--model", "/nonexistent/model"])  # fmt: skip
    assert (
        e.value.code == 2 and "--system-prompt needs the chat template" in capsys.readouterr().err
    )


def test_chat_sends_an_empty_system_prompt_as_mlx_lm_chat_does(monkeypatch):
    """``mlx_ifp chat --system-prompt ""``: an empty system message (how a template's default
    one is left out), as ``generate`` and mlx_lm.chat send it; it was dropped."""
    from test_chat import chat, turns

    sent = turns.__wrapped__(monkeypatch)
    run = chat("t5", "q", args=["--system-prompt", ""])
    assert run.exit_code == 0, run.output
    assert sent[0][0] == {"role": "system", "content": ""}
