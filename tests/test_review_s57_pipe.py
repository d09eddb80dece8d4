"""Review (s57): two reliability defects of the command line.

- Output piped into a reader that closes early (``mlx_ifp generate ... | head -c 5``, ``eval``
  and ``bench`` printing their JSON, ``info``, ``chat``, ``--help | head -1``, ``2>&1 | head``):
  typer and rich turned the closed pipe into **exit 1** (a failure, to ``set -o pipefail``), and
  ``eval`` and ``bench``, whose JSON ``print`` left in Python's buffer, exited **120 with
  "Exception ignored in: <_io.TextIOWrapper name='<stdout>'> BrokenPipeError"** on stderr (the
  buffer flushed at the exit). Now: nothing on stderr, exit 141 (128 + SIGPIPE: what a shell
  reports of ``git log | head -1``), the way Python's note on SIGPIPE says (caught at the entry
  point, the stream then pointed at /dev/null; SIGPIPE not set to SIG_DFL, for ``serve``).
- ``export -o a/b/c/out`` (folders that did not exist) that failed or was interrupted **left the
  empty folders a/b/c behind**: ``atomic_dir``/``atomic_file`` made them before the write. Now
  the temporary is made in the nearest folder that exists, the missing ones only as it lands.

Every test here fails on the code it was written against, for the reason in its docstring,
but three guards of what stays (a full read and a bad flag, Ctrl-C, a done export).
"""

import errno
import json
import os
import subprocess
import sys
from pathlib import Path

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp.cli import app, main
from mlx_ifp.common import atomic_dir, atomic_file

import mlx.core as mx
import pytest
from tiny import save_folder, tiny_model
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parent.parent
DEAD = 2**22 + 12345  # above Linux's default pid_max: never a live process
#: a chat template for the tiny word tokenizer (``chat`` needs one)
TEMPLATE = "{% for m in messages %}t3 {{ m['content'] }} {% endfor %}"
TEMPLATE += "{% if add_generation_prompt %}t4 {% endif %}"


@pytest.fixture(scope="module")
def world(cli_world):
    """(a tiny llama folder, one with a chat template, the fixture corpus)."""
    model, corpus = cli_world
    chat = save_folder(tiny_model("llama"), Path(model).parent / "chat")
    config = json.loads((chat / "tokenizer_config.json").read_text())
    (chat / "tokenizer_config.json").write_text(json.dumps({**config, "chat_template": TEMPLATE}))
    return model, chat, corpus


def argv(case: str, world) -> list[str]:
    model, chat, corpus = (str(p) for p in world)
    bench = ["--preset", "tiny", "--variants", "c", "--prompt-tokens", "8", "--gen-tokens", "2"]
    return {
        "generate": ["generate", "--model", model, "-p", "t5 t6", "-m", "40"],
        "eval": ["eval", "--model", model, "--data", corpus, "--limit", "1", "--gen-limit", "0",
                 "--mask-sources", "full", "--domains", "math"],
        "bench": ["bench", *bench, "--trials", "1"],
        "info": ["info", "--model", model],
        "help": ["--help"],
        "chat": ["chat", "--model", chat, "-m", "20"],
    }[case]  # fmt: skip


def piped_into_a_closed_reader(args: list[str], stdin: bytes = b"", both: bool = False):
    """``python -m mlx_ifp ARGS | head -c 0`` (``both``: ``2>&1 |``): the reader gone before the
    first byte (Python starts in about a second). Returns (exit code, stderr); run as a user has
    it, buffered."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONUNBUFFERED"}
    env |= {"PYTHONPATH": str(ROOT), "OPENBLAS_NUM_THREADS": "1"}
    err = subprocess.STDOUT if both else subprocess.PIPE
    run = subprocess.Popen([sys.executable, "-m", "mlx_ifp", *args], stdin=subprocess.PIPE,
                           stdout=subprocess.PIPE, stderr=err, env=env)  # fmt: skip
    run.stdout.close()
    run.stdin.write(stdin)
    run.stdin.close()
    said = "" if both else run.stderr.read().decode(errors="replace")
    return run.wait(timeout=300), said


@pytest.mark.parametrize("case", ["generate", "eval", "bench", "info", "help", "chat"])
def test_a_reader_that_closes_early_ends_the_command_quietly(world, case):
    """Was exit 1 (``generate``, ``info``, ``--help``, ``chat``: typer's and rich's handling of
    a closed pipe), or 120 with "Exception ignored ... BrokenPipeError" (``eval``, ``bench``)."""
    code, err = piped_into_a_closed_reader(argv(case, world), b"t5 t6\n" * (case == "chat"))
    assert code == 141, (code, err[-2000:])
    for said in ("Traceback", "Exception ignored", "BrokenPipe", "Broken pipe", "Error"):
        assert said not in err, err[-2000:]


@pytest.mark.parametrize("case", ["generate", "eval"])
def test_a_reader_of_both_streams_that_closes_early_ends_the_command_quietly(world, case):
    """``2>&1 | head``: was exit 1 (typer's handling of a closed pipe at the first line on stderr,
    or rich's at its table)."""
    assert piped_into_a_closed_reader(argv(case, world), both=True)[0] == 141


def test_a_reader_that_reads_all_still_gets_all(world, capsys):
    """The guard on stdout changes nothing else: ``main`` writes what ``app`` writes, then puts
    sys.stdout back (as it was); a bad flag is still one line and exit code 2."""
    stdout, stderr, info = sys.stdout, sys.stderr, ["info", "--model", str(world[0])]
    with pytest.raises(SystemExit) as e:
        main(info)
    assert e.value.code == 0 and sys.stdout is stdout and sys.stderr is stderr
    assert capsys.readouterr().out == CliRunner().invoke(app, info).output
    with pytest.raises(SystemExit) as e:
        main(["generate", "--model", str(world[0]), "--keep", "0", "-p", "t5"])
    said = capsys.readouterr()
    assert e.value.code == 2 and said.err.count("\n") == 1 and said.err.startswith("Error:")
    assert sys.stdout is stdout


def test_ctrl_c_in_a_command_is_still_one_line_and_130(world, capsys, monkeypatch):
    """Unchanged by the guard: Ctrl-C while the model loads is ``Error: interrupted``, 130."""

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(mlx_ifp, "load", interrupted)
    with pytest.raises(SystemExit) as e:
        main(["generate", "--model", str(world[0]), "-p", "t5"])
    assert e.value.code == 130 and capsys.readouterr().err == "Error: interrupted\n"


@pytest.mark.parametrize("failure", ["disk full", "ctrl-c"])
def test_a_failed_export_leaves_no_new_folders(world, tmp_path, monkeypatch, failure):
    """``export -o x/a/b/c/out`` failing in the writer: x, x/a, x/a/b, x/a/b/c were left, empty."""

    def broken(*args, **kwargs):
        if failure == "ctrl-c":
            raise KeyboardInterrupt
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(mx, "save_safetensors", broken)
    out = tmp_path / "x/a/b/c/out"
    run = CliRunner().invoke(app, ["export", "--model", str(world[0]), "-o", out])
    assert run.exit_code == (130 if failure == "ctrl-c" else 2), run.output
    assert list(tmp_path.iterdir()) == []


def test_a_done_export_makes_its_folders(world, tmp_path):
    """As before: the missing folders are made, the export lands in them, no temporary beside."""
    run = CliRunner().invoke(app, ["export", "--model", str(world[0]), "-o", tmp_path / "x/a/out"])
    assert run.exit_code == 0, run.output
    assert [p.name for p in tmp_path.rglob("*") if p.is_dir()] == ["x", "a", "out"]
    assert (tmp_path / "x/a/out/config.json").is_file()


@pytest.mark.parametrize("writer", [atomic_file, atomic_dir], ids=["file", "folder"])
def test_every_atomic_write_leaves_no_new_folders_when_it_fails(tmp_path, writer):
    """The one mechanism behind ``eval -o``, ``bench -o``, ``plot -o``, ``--save-mask``, ``export``
    and ``data build -o``: a failure left the parent folders it had made."""
    (tmp_path / "kept").mkdir()  # an empty folder the user had: never removed
    for error in (OSError(errno.EIO, "I/O error"), KeyboardInterrupt()):
        with pytest.raises(type(error)), writer(tmp_path / "kept/a/b/out.json") as tmp:
            (tmp / "x" if tmp.is_dir() else tmp).write_text("half")
            raise error
        assert [p.name for p in tmp_path.rglob("*")] == ["kept"]
    with writer(tmp_path / "kept/a/b/out.json") as tmp:
        (tmp / "x" if tmp.is_dir() else tmp).write_text("done")
    found = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*"))
    inside = ["kept/a/b/out.json/x"] if writer is atomic_dir else []
    assert found == ["kept", "kept/a", "kept/a/b", "kept/a/b/out.json", *inside]


def test_a_killed_writers_temporary_is_swept_by_the_next(tmp_path):
    """A writer killed (``kill -9``) before its folders were made left its temporary in the
    nearest folder that exists: the next writer of that output removes it."""
    leftover = tmp_path / f".out.tmp{DEAD}.x1"
    leftover.mkdir()
    with atomic_dir(tmp_path / "a/b/out") as tmp:
        (tmp / "x").write_text("done")
    assert not leftover.exists() and (tmp_path / "a/b/out/x").read_text() == "done"
