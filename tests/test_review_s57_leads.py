"""Small leads left by the fifty-seventh session's reviews; each test failed before its fix:

- ``serve``: ``max_tokens`` beside a different ``max_completion_tokens`` was taken silently (the
  latter won), where ``n_predict`` beside either with another value is a 400: one setting, two
  values, so a client's mistake went unseen.
- ``mlx_ifp chat`` with its input piped: a blank line, ``r`` or ``h`` left the prompt ">> " on
  stdout unended (">> >> >> >> t76 ..."), and a Ctrl-C before the reply's first token printed
  "(stopped)" on the prompt's line (">> (stopped); ..."): no Enter is echoed to end it.
- ``mlx_ifp generate --save-mask M`` with stdout to a file or a pipe (``> log 2>&1``): the
  reply's closing newline sat in stdout's buffer, so "Error: cannot write M..." (the folder gone
  meanwhile), or "Saved mask to M", followed the reply's text on its line.
"""

import importlib
import shutil

import mlx_ifp
from mlx_ifp.cli import app
from mlx_ifp.serve.schemas import APIError, Limits, parse_request

import pytest
from test_chat import chat, turns  # noqa: F401 (a fixture)
from tiny import endless_tokenizer, tiny_model
from typer.testing import CliRunner

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


def test_a_line_on_stderr_after_the_reply_starts_its_own(monkeypatch, tmp_path):
    """CliRunner's stdout buffers as a pipe's does: the output was "t97 t47 t126Error: cannot
    write ...", and "t97 t47 t126Saved mask to ..." when the save worked."""
    generate = importlib.import_module("mlx_ifp.cli.generate")
    model, folder, real = tiny_model("llama"), tmp_path / "masks", generate.stream_reply
    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: (model, endless_tokenizer()))

    def reply_then_folder_gone(*args, **kwargs):
        out = real(*args, **kwargs)
        shutil.rmtree(folder)
        folder.write_text("")  # a file where the folder was: the save must fail
        return out

    args = ["generate", "-p", "t5 t17 t3", "-m", "3", "--mask-source", "griffin"]
    args += ["--ignore-chat-template", "--save-mask", str(folder / "m.safetensors")]
    folder.mkdir()
    run = CliRunner().invoke(app, args)
    assert run.exit_code == 0 and "\nSaved mask to " in run.output, run.output
    shutil.rmtree(folder)
    folder.mkdir()
    monkeypatch.setattr(generate, "stream_reply", reply_then_folder_gone)
    run = CliRunner().invoke(app, args)
    assert run.exit_code == 2 and "Error: cannot write" in run.output, run.output
    assert run.output.startswith(run.stdout) and "\nError: cannot write" in run.output, run.output


def test_the_old_path_of_the_folded_top_k_still_gives_it():
    """``hard_topk_indices`` was folded into ``core.mask.topk_indices`` (the same rule); the old
    flat path, ``mlx_ifp.softtopk``, still gives it (the warning: tests/test_compat.py)."""
    import warnings

    import mlx.core as mx

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from mlx_ifp.softtopk import hard_topk_indices
    scores = mx.array([[0.5, 2.0, 2.0, -1.0, 3.0]])
    assert hard_topk_indices(scores, 2).tolist() == [[1, 4]]  # 3.0, then 2.0's lowest index
