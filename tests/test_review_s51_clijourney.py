"""The fifty-first session's review of ``generate``/``chat`` as a user of mlx_lm and llama-cli
drives them: prompts and task examples from a pipe given as a file."""

import os
import threading

import pytest


def fifo(tmp_path, text: bytes):
    """A named pipe a thread writes ``text`` into (as ``-f <(echo ...)`` or ``-f /dev/stdin``
    gives: a path that exists and is no regular file)."""
    path = tmp_path / "pipe"
    os.mkfifo(path)

    def write():
        with open(path, "wb") as f:
            f.write(text)

    threading.Thread(target=write, daemon=True).start()
    return path


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_the_prompt_file_may_be_a_pipe(tmp_path):
    """`generate -f <(cmd)` and `-f /dev/stdin` (llama-cli reads them) were refused as
    "--file /dev/fd/63: no such file": a pipe is not a regular file."""
    from mlx_ifp.cli.options import file_prompt

    assert file_prompt(str(fifo(tmp_path, b"Name a color.\n")), None) == "Name a color.\n"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes")
def test_task_examples_may_come_from_a_pipe(tmp_path):
    """`--task @<(cmd)`: "task examples file not found: /dev/fd/63"."""
    from mlx_ifp.core.prompt import read_examples

    assert read_examples(fifo(tmp_path, b"add two numbers\nsubtract\n")) == [
        "add two numbers",
        "subtract",
    ]


def test_a_missing_prompt_file_and_a_folder_are_still_refused(tmp_path):
    from mlx_ifp import UsageError
    from mlx_ifp.cli.options import file_prompt
    from mlx_ifp.core.prompt import read_examples

    import typer

    for path, says in ((tmp_path / "none.txt", "no such file"), (tmp_path, "not a file")):
        with pytest.raises(typer.BadParameter, match=says):
            file_prompt(str(path), None)
    for path in (tmp_path / "none.txt", tmp_path):
        with pytest.raises(UsageError):
            read_examples(path)


def test_the_compile_notice_reaches_a_log(monkeypatch, capsys, tmp_path):
    """On a GPU whose kernel cache is empty, `generate ... 2>log` (or a pipe) waited ~47 s with
    **nothing in the log**: the notice was only a rich status, which draws nothing where
    stderr is no terminal. Now one plain line there."""
    import mlx_ifp.models
    from mlx_ifp.cli.generate import open_model, stream_reply
    from mlx_ifp.models import COMPILING

    from tiny import save_folder, tiny_model

    folder = save_folder(tiny_model("llama"), tmp_path / "model")
    opened = open_model(str(folder), None, "griffin", None, None, 1, None, None)
    monkeypatch.setattr(mlx_ifp.models, "claim_compile_notice", lambda net: True)
    stream_reply("t5 t6", 2, opened, chat_template=False)
    assert capsys.readouterr().err.count(COMPILING) == 1
