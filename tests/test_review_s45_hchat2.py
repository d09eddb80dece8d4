"""Review (s45, second pass): ``mlx_ifp chat`` against what a user of ``mlx_lm.chat`` expects.

- A chat template that refuses a later message (a jinja ``raise_exception`` on a word, a third
  user message, ...): chat exited 1 with jinja's ``TemplateError`` traceback, and the
  conversation so far was lost. Now one line, "Error: the chat template refuses this message
  (...); the message is dropped", and the conversation goes on, as for a message that overflows
  the context.
- The line after each reply gave the reply's tokens and speed but not the prompt's, though
  every turn re-runs the whole conversation (``mlx_lm.generate``'s verbose lines give prompt
  tokens, prompt tok/s and peak memory): a turn slowed by a long conversation was unexplained.
  Now "[prompt N tokens, X tok/s; reply M tokens, Y tok/s; peak Z GB; ...]".

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import re

import mlx_ifp

import pytest
from test_chat import chat, turns  # noqa: F401 (a fixture)
from test_serve import word_tokenizer
from tiny import tiny_model

REFUSES_T6 = (
    "{% for m in messages %}{% if 't6' in m['content'] %}"
    "{{ raise_exception('no t6 here') }}{% endif %}{{ m['content'] }} {% endfor %}"
)


@pytest.fixture
def refusing(monkeypatch, turns):  # noqa: F811
    """The tiny model of ``turns``, its chat template refusing any message holding ``t6``."""

    def load(*args, **kwargs):
        tok = word_tokenizer()
        tok._tokenizer.chat_template = REFUSES_T6
        return tiny_model("llama"), tok

    monkeypatch.setattr(mlx_ifp, "load", load)
    return turns


@pytest.mark.parametrize("args", [[], ["--system-prompt", "t9"]])
def test_a_message_the_template_refuses_is_dropped_and_the_chat_goes_on(refusing, args):
    """Exit 1 with jinja2's TemplateError traceback at "t5 t6"; the conversation was lost."""
    run = chat("t5", "t5 t6", "t7", "q", args=args)
    assert run.exit_code == 0, run.output
    assert "Error: the chat template refuses this message (no t6 here)" in run.output
    assert "Traceback" not in run.output and "jinja" not in run.output.lower(), run.output
    users = [m["content"] for m in refusing[-1] if m["role"] == "user"]
    assert users == ["t5", "t7"]  # "t5 t6" dropped; the first turn and its reply kept
    assert [m["role"] for m in refusing[-1]][-3:] == ["user", "assistant", "user"]
    assert run.output.count("parameters active") == 2  # two replies


def test_the_line_after_each_reply_gives_the_prompt_and_peak_memory(turns):  # noqa: F811
    """The line said "[4 tokens, 95.1 tok/s; ...]": no prompt tokens, prompt speed or memory."""
    run = chat("t5 t6", "t7", "q")
    assert run.exit_code == 0, run.output
    lines = [x for x in run.output.splitlines() if "parameters active" in x]
    pattern = (
        r"\[prompt (\d+) tokens, [\d.]+ tok/s; reply \d+ tokens, [\d.]+ tok/s; peak [\d.]+ GB; "
    )
    found = [re.search(pattern, x) for x in lines]
    assert len(found) == 2 and all(found), lines
    first, second = (int(m.group(1)) for m in found)
    assert second > first > 0  # the second turn re-ran the whole conversation
