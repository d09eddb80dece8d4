"""Review (s50): ``mlx_ifp generate`` / ``mlx_ifp chat`` against llama.cpp's ``llama-cli`` habits.

- ``-n N`` / ``--n-predict N`` (the tokens to generate) and ``-s N`` (the seed): "No such
  option"; ``--seed -1`` (llama-cli's "a random seed") said only the range.
- ``-f FILE`` / ``--file FILE`` (the prompt read from a file): "No such option", though
  ``-p - < FILE`` did it.
- ``-m model.gguf`` (llama-cli's ``-m`` is the model; here, as mlx_lm's, ``--max-tokens``):
  "Input should be a valid integer", no word of ``--model``; ``-sys``, ``-c`` / ``--ctx-size``
  (click guessed ``--max-kv-size``, a rotating cache), ``-r``, ``-ngl``, ``-cnv``,
  ``-no-cnv``, ``-b``, ``--repeat-last-n``: "No such option", no word of what they are here.

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import re

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp.cli import app, main

import mlx.core as mx
import pytest
from test_review_s44_flags import qwen
from test_review_s44_generate import templated
from typer.testing import CliRunner


@pytest.fixture
def seen(monkeypatch):
    """What ``generate`` / ``chat`` hand ``stream_generate`` (a tiny model, a chat template), and
    the seeds ``mx.random.seed`` was given."""
    got = {"seeds": []}
    monkeypatch.setattr(mlx_ifp, "load", lambda name, **kw: (qwen(), templated()))

    def stream(net, tok, prompt, max_tokens, **kw):
        got.update(kw, prompt=prompt, max_tokens=max_tokens)
        yield from ()

    monkeypatch.setattr(mlx_ifp, "stream_generate", stream)
    real = mx.random.seed
    monkeypatch.setattr(mx.random, "seed", lambda s: (got["seeds"].append(s), real(s))[1])
    return got


def invoke(*args, **kw):
    return CliRunner().invoke(app, [*args, "--mask-source", "static"], **kw)


@pytest.mark.parametrize("flag", ["-n", "--n-predict"])
def test_llama_cli_n_is_max_tokens(seen, flag):
    """``-n 5``: "No such option: -n"."""
    run = invoke("generate", "-p", "hi", flag, "5")
    assert run.exit_code == 0, run.output
    assert seen["max_tokens"] == 5


def test_llama_cli_s_is_the_seed(seen):
    """``-s 7``: "No such option: -s"."""
    run = invoke("generate", "-p", "hi", "-s", "7", "--temp", "0.7")
    assert run.exit_code == 0, run.output
    assert seen["seeds"][:1] == [7]  # (then the tiny model's own)


def test_chat_takes_n_and_s_too(seen):
    """``chat -n 5 -s 7``: "No such option"."""
    run = invoke("chat", "-n", "5", "-s", "7", input="hi\nq\n")
    assert run.exit_code == 0, run.output
    assert (seen["max_tokens"], seen["seeds"][:1]) == (5, [7])


def test_a_seed_of_minus_one_says_to_leave_it_out(capsys):
    """``--seed -1`` (llama-cli's random seed): only "must be in [0, 2**64), got -1"."""
    with pytest.raises(SystemExit) as e:
        main(["generate", "-p", "hi", "-s", "-1"])
    err = capsys.readouterr().err
    assert e.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert "leave out --seed" in err, err


@pytest.mark.parametrize("flag", ["-f", "--file"])
def test_the_prompt_is_read_from_a_file(seen, tmp_path, flag):
    """``-f FILE``: "No such option: -f". The file is the prompt as it is (a BOM dropped, a
    literal backslash-n kept: only --prompt's escapes are read, as mlx_lm reads stdin)."""
    path = tmp_path / "p.txt"
    path.write_bytes("\ufeffName a river.\nA long one: \\n\n".encode())
    run = invoke("generate", flag, str(path))
    assert run.exit_code == 0, run.output
    assert seen["prompt"] == "Name a river.\nA long one: \\n\n"


@pytest.mark.parametrize(
    ("make", "extra", "said"),
    [
        (lambda p: p.write_text("hi"), ["-p", "hi"], "not both"),
        (lambda p: None, [], "no such file"),
        (lambda p: p.mkdir(), [], "not a file"),
        (lambda p: p.write_bytes(b"\xff\xfe\x00a"), [], "not UTF-8"),
        (lambda p: p.write_bytes(b"a\x00b"), [], "binary"),
        (lambda p: p.write_text(" \n"), [], "empty"),
    ],
)
def test_a_bad_prompt_file_is_one_line_before_the_load(monkeypatch, tmp_path, make, extra, said):
    """Each case refused in one line, exit 2, before the model loads."""
    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: pytest.fail("loaded"))
    path = tmp_path / "p.txt"
    make(path)
    run = invoke("generate", "-f", str(path), *extra)
    assert run.exit_code == 2 and len(run.output.strip().splitlines()) == 1, run.output
    assert run.output.startswith("Error: ") and said in run.output, run.output


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (["-m", "model.gguf"], "--model"),
        (["-sys", "Be brief."], "--system-prompt"),
        (["-c", "4096"], "--max-kv-size"),
        (["--ctx-size", "4096"], "context"),
        (["-r", "User:"], "--extra-eos-token"),
        (["-ngl", "99"], "GPU"),
        (["-cnv"], "mlx_ifp chat"),
        (["--repeat-last-n", "64"], "--repetition-context-size"),
        (["-no-cnv"], "one prompt"),
        (["-b", "512"], "--prefill-step-size"),
    ],
)
def test_llama_cli_flags_say_what_they_are_here(args, said, capsys):
    """Said "No such option" / "a valid integer", and nothing of what llama-cli means."""
    with pytest.raises(SystemExit) as e:
        main(["generate", "-p", "hi", *args])
    err = capsys.readouterr().err
    assert e.value.code == 2 and len(err.strip().splitlines()) == 1, err
    assert "llama-cli's" in err and said in err, err
    assert "Possible options" not in err, err  # (click's guess by the spelling: another meaning)


def test_the_help_names_the_llama_cli_flags():
    """``generate --help`` names ``-n``, ``-s`` and ``-f``."""
    run = CliRunner().invoke(app, ["generate", "--help"], env={"COLUMNS": "300"})
    named = set(re.findall(r"(?<![\w-])-{1,2}[a-z][\w-]*", run.output))
    assert {"-n", "--n-predict", "-s", "-f", "--file"} <= named, named
