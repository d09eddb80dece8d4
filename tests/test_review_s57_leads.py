"""Small leads left by the fifty-seventh session's reviews; each test failed before its fix:

- ``serve``: ``max_tokens`` beside a different ``max_completion_tokens`` was taken silently (the
  latter won), where ``n_predict`` beside either with another value is a 400: one setting, two
  values, so a client's mistake went unseen.
- ``mlx_ifp chat`` with its input piped: a blank line, ``r`` or ``h`` left the prompt ">> " on
  stdout unended (">> >> >> >> t76 ..."), and a Ctrl-C before the reply's first token printed
  "(stopped)" on the prompt's line (">> (stopped); ..."): no Enter is echoed to end it.
"""

import mlx_ifp
from mlx_ifp.serve.schemas import APIError, Limits, parse_request

import pytest
from test_chat import chat, turns  # noqa: F401 (a fixture)

TEXT = {"prompt": "hello"}


def test_max_tokens_and_max_completion_tokens_that_differ_are_a_400():
    """Was a 200 with ``max_completion_tokens``' value; ``n_predict`` beside either is a 400."""
    for body in (
        {"max_tokens": 9, "max_completion_tokens": 2},
        {"max_tokens": 2, "max_completion_tokens": 9},
    ):
        with pytest.raises(APIError) as err:
            parse_request({**TEXT, **body}, chat=False, limits=Limits())
        assert err.value.status == 400 and err.value.param == "max_tokens"
        assert (
            "'max_tokens'" in err.value.message and "'max_completion_tokens'" in err.value.message
        )
    for body, want in (  # the same value under both names, or either alone, is taken
        ({"max_tokens": 3, "max_completion_tokens": 3}, 3),
        ({"max_tokens": 4, "max_completion_tokens": None}, 4),
        ({"max_completion_tokens": 5}, 5),
        ({"n_predict": 6, "max_tokens": 6, "max_completion_tokens": 6}, 6),
    ):
        assert parse_request({**TEXT, **body}, chat=False, limits=Limits()).max_tokens == want


def test_piped_chat_ends_each_prompt_line(turns):  # noqa: F811
    """stdout was ">> t5 t5 t5 t5\\n>> >> >> >> t76 ...": the blank line, r and h each left
    their prompt unended, so prompts and the next reply ran together on one line."""
    run = chat("t5", "", "r", "h", "t6", "q")
    assert run.exit_code == 0 and len(turns) == 2, run.output
    assert ">> >> " not in run.stdout, repr(run.stdout)
    assert run.stdout.count(">> ") == run.stdout.count(">> \n") == 6, repr(run.stdout)


def test_piped_chat_stopped_before_the_reply_says_so_on_its_own_line(turns, monkeypatch):  # noqa: F811
    """A Ctrl-C in the prefill (no token out yet) printed ">> (stopped); the message is dropped"."""
    spy = mlx_ifp.stream_generate

    def stopped(*args, **kwargs):
        if len(turns) == 1:  # the second turn, before its first token
            raise KeyboardInterrupt
        yield from spy(*args, **kwargs)

    monkeypatch.setattr(mlx_ifp, "stream_generate", stopped)
    run = chat("t5", "t6", "q")
    assert run.exit_code == 0 and "(stopped); the message is dropped" in run.output, run.output
    assert "\n(stopped)" in run.output and ">> (stopped)" not in run.output, repr(run.output)
