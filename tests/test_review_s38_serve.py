"""Review of ``mlx_ifp serve`` (thirty-eighth session, a helper's hunt).

- A client gone while its request body was still coming in (a ``Content-Length`` larger than
  what it sent, a dropped upload) raised starlette's ``ClientDisconnect`` out of the route:
  uvicorn logged "ERROR: Exception in ASGI application" and a traceback for the client's doing.
- llama.cpp's names of settings (``n_predict``, ``repeat_penalty``, ``repeat_last_n``): a
  ``null`` one clashed with the OpenAI name it stands for (``{"max_tokens": 5, "n_predict":
  null}`` was a 400 "name one setting"), though ``null`` is "not given" everywhere else; and
  llama.cpp's documented ``-1`` (``n_predict``: no limit, its default; ``repeat_last_n``: the
  whole context) was a 400 naming ``max_tokens`` / ``repetition_context_size``, settings the
  client never sent.

Same pattern as ``test_serve``: a tiny random llama served by a real uvicorn in a thread.
"""

import json
import logging
import socket
import time

from mlx_ifp.serve.app import create_app
from mlx_ifp.serve.registry import Registry
from mlx_ifp.serve.schemas import MAX_WINDOW, Limits, parse_request

import pytest
from test_serve import KEEP, Server, post, word_tokenizer
from tiny import tiny_model

LIMITS = Limits(max_body_bytes=4096, max_tokens_limit=64, default_max_tokens=9, timeout_s=30)


@pytest.fixture(scope="module")
def served():
    registry = Registry(tiny_model("llama"), word_tokenizer(), "tiny", keep=KEEP, cache_bytes=1e6)
    server = Server(create_app(registry, LIMITS))
    yield server
    server.stop()


class Records(logging.Handler):
    def __init__(self):
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record):
        self.records.append(record)


def test_a_client_gone_mid_body_is_not_an_error_with_a_traceback(served):
    """The body is cut short (half of a stated ``Content-Length``, then the client closes)."""
    log, seen = logging.getLogger("uvicorn.error"), Records()
    log.addHandler(seen)
    try:
        with socket.create_connection(("127.0.0.1", served.port)) as s:
            head = "POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            s.sendall(f"{head}Content-Length: 200\r\n\r\n".encode() + b'{"model": "tiny", "pro')
            s.shutdown(socket.SHUT_WR)
            s.settimeout(10)
            while s.recv(4096):  # the server closes its side
                pass
        deadline = time.monotonic() + 2  # the route runs on after the socket is closed
        while time.monotonic() < deadline and not seen.records:
            time.sleep(0.05)
    finally:
        log.removeHandler(seen)
    errors = [r.getMessage() for r in seen.records if r.levelno >= logging.ERROR]
    assert not errors, errors
    body = json.dumps({"model": "tiny", "prompt": "t3", "max_tokens": 2}).encode()
    assert post(served.url, body, path="/v1/completions")[0] == 200  # still serving


def _text(url, body: dict):
    return post(url, json.dumps(body).encode(), path="/v1/completions")


@pytest.mark.parametrize(
    "extra",
    [
        {"max_tokens": 3, "n_predict": None},
        {"n_predict": 3, "max_tokens": None},
        {"max_tokens": 3, "repetition_penalty": 1.1, "repeat_penalty": None},
        {"max_tokens": 3, "repetition_context_size": 8, "repeat_last_n": None},
    ],
)
def test_a_null_llama_cpp_name_is_not_given(served, extra):
    status, body = _text(served.url, {"model": "tiny", "prompt": "t3 t4", **extra})
    assert status == 200, body
    assert body["usage"]["completion_tokens"] <= 3


def test_llama_cpp_minus_one_means_what_llama_cpp_says(served):
    """``n_predict: -1`` (llama.cpp's default, no limit): the server's default max_tokens;
    ``repeat_last_n: -1``: the whole context."""
    body = {"model": "tiny", "prompt": "t3 t4", "n_predict": -1, "repeat_last_n": -1}
    status, answer = _text(served.url, {**body, "repeat_penalty": 1.1})
    assert status == 200, answer
    assert answer["usage"]["completion_tokens"] <= LIMITS.default_max_tokens
    req = parse_request(body, chat=False, limits=LIMITS)
    assert (req.max_tokens, req.max_tokens_given) == (LIMITS.default_max_tokens, False)
    assert req.repetition_context_size == MAX_WINDOW


def test_other_bad_llama_cpp_values_are_still_a_400(served):
    for extra in (
        {"n_predict": -2},
        {"n_predict": 0},
        {"repeat_last_n": 0},
        {"repeat_penalty": -1},
    ):
        status, answer = _text(served.url, {"model": "tiny", "prompt": "t3", **extra})
        assert status == 400, (extra, answer)
    status, answer = _text(
        served.url, {"model": "tiny", "prompt": "t3", "max_tokens": 3, "n_predict": 4}
    )
    assert status == 400 and "name one setting" in answer["error"]["message"]


def test_a_template_error_subclass_is_a_400_not_a_500():
    """jinja2 raises subclasses of ``TemplateError`` too (``UndefinedError`` here: a template
    reading a field the messages lack); the server took only the class itself as the
    template's refusal, so these were a 500 with a logged traceback."""
    tok = word_tokenizer()
    read = "m['content'] if m['content'] != 't7' else m.nothing.deeper"  # only for "t7"
    tok._tokenizer.chat_template = "{% for m in messages %}{{ " + read + " }} {% endfor %}"
    registry = Registry(tiny_model("llama"), tok, "tiny", keep=KEEP, cache_bytes=1e6)
    server = Server(create_app(registry, LIMITS))
    try:
        body = {"model": "tiny", "messages": [{"role": "user", "content": "t7"}], "max_tokens": 2}
        status, answer = post(server.url, json.dumps(body).encode())
        assert status == 400, answer
        assert "chat template" in answer["error"]["message"]
        body["messages"][0]["content"] = "t3"
        assert post(server.url, json.dumps(body).encode())[0] == 200  # and it serves on
    finally:
        server.stop()
