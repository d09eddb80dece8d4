"""Review (s57) of ``mlx_ifp chat`` at a real terminal (a pseudo-terminal, ``pty``).

Before the fix ``input()`` ran without readline (neither ``mlx_ifp chat`` nor ``mlx_lm.chat``
imports it), so at a terminal the arrow keys were no line editing: Left, Right and Up went into
the message as escape codes ("q\\x1b[D\\x1b[C", "\\x1b[A"), sent to the model and read by the
mask source, and Up could not recall the message a Ctrl-C had just dropped. Three tests here
failed before: the edited ``q`` was sent as a message (a reply came, the chat went on), Up sent
one unknown word (3 prompt tokens, not the 4 of the message recalled), and Up after a dropped
message echoed ``^[[A``. The Ctrl-D test is a guard, passed before and after: text then Ctrl-D
sends nothing until Enter, and Ctrl-D at an empty line still ends the chat.
"""

import json
import os
import re
import select
import signal
import sys
import time
from pathlib import Path

import pytest
from tiny import save_folder, tiny_model

pty = pytest.importorskip("pty")  # (Unix: Windows' console edits the line itself)
pytest.importorskip("readline")  # (a Python built without it: the keys stay unedited)
ROOT = Path(__file__).resolve().parents[1]
#: the words of the message and the template's markers (unknown words: t0); the reply ends
#: with "assistant"'s turn, so each message adds "user", its words and "assistant"
TEMPLATE = (
    "{% for m in messages %}{{ m['role'] }} {{ m['content'] }} {% endfor %}"
    "{% if add_generation_prompt %}assistant {% endif %}"
)
FOOTER = re.compile(rb"\[prompt (\d+) tokens")


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    folder = save_folder(tiny_model("llama"), tmp_path_factory.mktemp("chat") / "tiny")
    config = json.loads((folder / "tokenizer_config.json").read_text())
    (folder / "tokenizer_config.json").write_text(json.dumps({**config, "chat_template": TEMPLATE}))
    return folder


class Terminal:
    """``mlx_ifp chat`` on a pseudo-terminal: what it wrote, keys typed, its exit code."""

    def __init__(self, *args: str):
        env = {**os.environ, "TERM": "xterm", "PYTHONPATH": str(ROOT)}
        self.pid, self.fd = pty.fork()
        if self.pid == 0:  # (the child: Ctrl-C as a terminal gives it)
            signal.signal(signal.SIGINT, signal.SIG_DFL)
            os.chdir(ROOT)
            os.execvpe(sys.executable, [sys.executable, "-m", "mlx_ifp", "chat", *args], env)
        self.out, self.status = b"", None

    def read(self, timeout: float) -> bool:
        if select.select([self.fd], [], [], timeout)[0]:
            try:
                data = os.read(self.fd, 65536)
            except OSError:  # (Linux: the child is gone)
                return False
            self.out += data
            return bool(data)
        return True

    def wait_for(self, pattern: bytes, count: int = 1, timeout: float = 120) -> None:
        end = time.monotonic() + timeout
        while len(re.findall(pattern, self.out)) < count and time.monotonic() < end:
            if not self.read(0.1):
                break
        assert len(re.findall(pattern, self.out)) >= count, self.out[-800:]

    def type(self, keys: bytes) -> None:
        os.write(self.fd, keys)

    def end(self, timeout: float = 30) -> int:
        """0 once the program has ended (its output read), -1 if it runs on (then killed)."""
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            self.read(0.05)
            pid, status = os.waitpid(self.pid, os.WNOHANG)
            if pid:
                self.status = status
                while select.select([self.fd], [], [], 0)[0] and self.read(0):
                    pass
                return 0
        os.kill(self.pid, signal.SIGKILL)
        return -1

    def code(self) -> int:
        if self.status is None:
            self.status = os.waitpid(self.pid, 0)[1]
        return os.waitstatus_to_exitcode(self.status)


@pytest.fixture
def chat(folder):
    """Starts ``chat`` on the tiny model (static mask, 3-token replies) at a terminal; what
    still runs at the test's end (a failed one) is killed."""
    started = []

    def start(*args: str) -> Terminal:
        started.append(
            Terminal("--model", str(folder), "-m", "3", "--mask-source", "static", *args)
        )
        started[-1].wait_for(rb">> ")
        return started[-1]

    yield start
    for t in started:
        if t.status is None and not os.waitpid(t.pid, os.WNOHANG)[0]:
            os.kill(t.pid, signal.SIGKILL)
            os.waitpid(t.pid, 0)


def test_arrow_keys_edit_the_line(chat):
    t = chat()
    t.type(b"q\x1b[D\x1b[C\r")  # q, Left, Right, Enter: the line is "q"
    ended = t.end(timeout=8)
    if ended:  # still running: the keys went into a message (before: a reply and its line)
        t.type(b"\x04")
        t.end()
    assert ended == 0 and t.code() == 0, t.out[-600:]
    assert not FOOTER.search(t.out), t.out[-600:]


def test_up_recalls_the_last_message(chat):
    t = chat()
    t.type(b"t5 t6\r")
    t.wait_for(rb"\]\r\n>> ")
    t.type(b"\x1b[A\r")  # Up, Enter: "t5 t6" again
    t.wait_for(rb"\]\r\n>> ", count=2)
    t.type(b"q\r")
    t.end()
    assert t.code() == 0
    # "user t5 t6 assistant", the first reply wholly in the cache: 4 tokens each time
    assert [int(n) for n in FOOTER.findall(t.out)] == [4, 4], t.out[-800:]


def test_ctrl_d_after_text_sends_nothing_cut(chat):
    # readline: Ctrl-D on a line with text deletes (nothing at its end); Enter sends it whole
    t = chat()
    t.type(b"t5 t6 7\x04")
    time.sleep(0.5)
    t.type(b"\x04")
    time.sleep(0.5)
    t.type(b"\r")
    t.wait_for(rb"\]\r\n>> ")
    t.type(b"\x04")  # at an empty line: the end of input, as before
    if t.end(timeout=8):  # (before: a second Ctrl-D was needed)
        t.type(b"\x04")
        t.end()
    assert t.code() == 0
    # "user t5 t6 7 assistant" (7: an unknown word), sent at Enter, not at Ctrl-D
    assert [int(n) for n in FOOTER.findall(t.out)] == [5], t.out[-800:]
    assert re.search(rb"t5 t6 7\x07*\r\n", t.out)  # (readline rings at each Ctrl-D there)


def test_a_dropped_message_comes_back_with_up(chat):
    # Ctrl-C mid-reply drops the message ("the message is dropped"); Up gives it back to resend
    t = chat("-m", "100000")  # ("t5 t6": no end token for seconds)
    t.type(b"t5 t6\r")
    time.sleep(1.0)
    t.type(b"\x03")
    t.wait_for(rb"dropped\r\n>> ")
    t.type(b"\x1b[A")
    t.wait_for(rb"dropped\r\n>> t5 t6")
    t.type(b"\x15q\r")  # (Ctrl-U: the line cleared; q quits)
    t.end()
    assert t.code() == 0 and b"Traceback" not in t.out, t.out[-800:]
