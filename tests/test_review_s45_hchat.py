"""Review (s45): ``mlx_ifp chat`` against what a user of ``mlx_lm.chat`` expects.

- ``chat --model SLIM`` of an export of a pruned model (``mlx_ifp export --keep 0.5 -o SLIM``),
  which now runs as written: the banner said "unpruned (all FFN channels)" where the model is
  pruned to 768 of SmolLM2's 1536 channels (``generate``'s footer says "Exported pruned to 768 of
  1536 ..."); and after each reply "mask picked in 6 ms", where no mask was picked (``--keep
  1.0`` and ``--mask-source full`` too; ``generate`` says "Mask: none").
- A conversation piped in from a file a Windows editor saved (a UTF-8 BOM, CRLF line ends): the
  first message began with U+FEFF and every message ended with "\\r", tokens the model read and
  the mask was picked from; a BOM'd first line "q" was sent to the model, not read as quit
  (``generate -p -`` drops the BOM since the forty-fourth session).
- ``printf 'hi\\nq\\n' | mlx_ifp chat``: the output ended with the prompt ">> " and no newline,
  so the shell's prompt followed it on its line (the end of input without ``q`` was mended in
  the forty-first session; ``mlx_lm.chat`` ends its lines too).

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import mlx_ifp  # noqa: F401 (first: the optimized BLAS before mlx.core)
from mlx_ifp.cli import app

import pytest
from test_chat import chat, turns  # noqa: F401 (a fixture)
from test_review_s45_reprune import exported
from typer.testing import CliRunner


def test_the_banner_of_an_export_says_what_it_was_pruned_to(tmp_path):
    """The banner said "unpruned (all FFN channels)" of a tiny export at 64 of its 128 channels,
    run as written; each reply "mask picked in 0 ms" though no mask was picked."""
    out, _ = exported(tmp_path)
    for more in ([], ["--keep", "1.0"], ["--mask-source", "full"]):  # all run it as written
        args = ["chat", "--model", str(out), "-m", "2", *more]
        run = CliRunner().invoke(app, args, input="t1 t2\nq\n")
        first = run.output.splitlines()[0]
        assert run.exit_code == 0 and "unpruned" not in first, (more, run.output)
        assert "exported pruned to 64 of 128 FFN channels per layer" in first, (more, first)
        assert "mask picked" not in run.output and "; no mask;" in run.output, (more, run.output)


def test_a_budget_keeping_every_channel_picks_no_mask(turns):  # noqa: F811
    """``chat --keep 1.0``: the banner said unpruned, and each reply "mask picked in 0 ms"."""
    run = chat("t5", "q", args=["--keep", "1.0"])
    assert run.exit_code == 0 and "unpruned (all FFN channels)" in run.output, run.output
    assert "mask picked" not in run.output and "; no mask;" in run.output, run.output
    assert "mask picked" in chat("t5", "q").output  # pruned: as before


def test_a_piped_conversation_from_a_windows_editor(turns):  # noqa: F811
    """A BOM and CRLF line ends: '\\ufefft5\\r' and 't6\\r' were sent; a BOM'd 'q' was a message."""
    args = ["chat", "--mask-source", "griffin", "-m", "2"]
    run = CliRunner().invoke(app, args, input=b"\xef\xbb\xbft5\r\nt6\r\nq\r\n")
    assert run.exit_code == 0, run.output
    sent = [[m["content"] for m in t if m["role"] == "user"] for t in turns]
    assert sent == [["t5"], ["t5", "t6"]]
    turns.clear()
    run = CliRunner().invoke(app, args, input=b"\xef\xbb\xbfq\r\nt5\r\n")
    assert run.exit_code == 0 and not turns, run.output  # quit at once


@pytest.mark.parametrize("word", ["q", "/bye"])
def test_quitting_from_piped_input_ends_the_prompt_line(turns, word):  # noqa: F811
    """The output ended ">> " (no newline): the shell's prompt came after it on one line."""
    run = chat("t5", word)
    assert run.exit_code == 0, run.output
    assert run.output.endswith(">> \n"), repr(run.output[-40:])
