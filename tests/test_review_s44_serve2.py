"""Forty-fourth session review of ``mlx_ifp serve`` against mlx-lm's server, llama.cpp's
``llama-server`` and the OpenAI API:

- no CORS: a browser page's preflight (``OPTIONS``) was a 405 and no answer carried
  ``Access-Control-Allow-Origin``, so no browser client could call the server (both reference
  servers allow any origin); ``serve --cors-origin`` now picks the origins (default ``*``);
- ``/chat/completions``, ``/completions``, ``/models`` (no ``/v1``) were 404s; llama.cpp's
  server answers both;
- ``stream_options.include_usage``: OpenAI sends ``"usage": null`` on every chunk but the last;
  the key was left out;
- llama.cpp's ``n_predict`` beside ``max_completion_tokens`` was dropped silently; a bad
  ``n_predict`` was reported as ``max_tokens``; a bad ``max_tokens`` beside
  ``max_completion_tokens`` was ignored;
- llama.cpp's ``grammar`` and ``json_schema`` were ignored silently (an unconstrained reply).

Same pattern as ``test_serve``: a tiny random llama with a word-level tokenizer, served by a
real uvicorn in a thread, driven with raw HTTP requests.
"""

import http.client
import json
import socket

import mlx_ifp
from mlx_ifp.serve.app import create_app
from mlx_ifp.serve.registry import Registry
from mlx_ifp.serve.schemas import Limits

import pytest
from test_review_s44_serve import sse_events as events
from test_serve import KEEP, Server, word_tokenizer
from tiny import tiny_model

CHAT = {"model": "tiny", "messages": [{"role": "user", "content": "t5 t6 t7"}], "max_tokens": 3}
TEXT = {"model": "tiny", "prompt": "t5 t6 t7", "max_tokens": 3}
LIMITS = Limits(max_tokens_limit=300, timeout_s=30)
PAGE = "http://localhost:3000"


@pytest.fixture(scope="module")
def server():
    registry = Registry(tiny_model("llama"), word_tokenizer(), "tiny", keep=KEEP, cache_bytes=1e6)
    s = Server(create_app(registry, LIMITS))
    yield s
    s.stop()


def call(server, method: str, path: str, body=None, **headers):
    """(status, headers with lower-case names, body: parsed JSON, or the raw bytes)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    data = None if body is None else json.dumps(body)
    if data is not None:
        headers.setdefault("Content-Type", "application/json")
    conn.request(method, path, data, {k.replace("_", "-"): v for k, v in headers.items()})
    response = conn.getresponse()
    raw = response.read()
    conn.close()
    try:
        raw = json.loads(raw)
    except ValueError:
        pass
    return response.status, {k.lower(): v for k, v in response.getheaders()}, raw


def preflight(server, origin: str, path="/v1/chat/completions"):
    return call(
        server,
        "OPTIONS",
        path,
        Origin=origin,
        Access_Control_Request_Method="POST",
        Access_Control_Request_Headers="authorization, content-type",
    )


def test_a_browser_page_may_call_the_server_from_any_origin(server):
    """A browser sends a preflight before a JSON POST with an ``Authorization`` header (the
    openai package in a page does): it was a 405, and no answer carried
    ``Access-Control-Allow-Origin``, so the browser refused every reply."""
    status, headers, _ = preflight(server, PAGE)
    assert status == 200, (status, headers)
    assert headers.get("access-control-allow-origin") == "*"
    assert "POST" in headers.get("access-control-allow-methods", "")
    assert "authorization" in headers.get("access-control-allow-headers", "").lower()
    for path, body in (("/v1/chat/completions", CHAT), ("/v1/completions", TEXT)):
        status, headers, answer = call(server, "POST", path, body, Origin=PAGE)
        assert status == 200 and headers.get("access-control-allow-origin") == "*", answer
        streamed = {**body, "stream": True}
        status, headers, raw = call(server, "POST", path, streamed, Origin=PAGE)
        assert status == 200 and headers.get("access-control-allow-origin") == "*"
        assert events(raw)[-1] == "[DONE]"
    status, headers, answer = call(server, "POST", "/v1/completions", {}, Origin=PAGE)
    assert status == 400 and headers.get("access-control-allow-origin") == "*", answer
    status, headers, _ = call(server, "GET", "/v1/models", Origin=PAGE)
    assert status == 200 and headers.get("access-control-allow-origin") == "*"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _serve(monkeypatch, *args):
    """``mlx_ifp serve`` on the tiny model, uvicorn not started: (result, the app it built)."""
    from mlx_ifp.cli import app

    import uvicorn
    from typer.testing import CliRunner

    built = []
    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: (tiny_model("llama"), word_tokenizer()))
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: built.append(app))
    args = ["serve", "--mask-source", "griffin", "--port", str(_free_port()), *args]
    return CliRunner().invoke(app, args), built


def test_serve_cors_origin_picks_the_origins_that_may_call(monkeypatch):
    run, built = _serve(monkeypatch, "--cors-origin", PAGE, "--cors-origin", "https://a.example")
    assert run.exit_code == 0, (run.output, run.exception)
    server = Server(built[0])
    try:
        for origin in (PAGE, "https://a.example"):
            status, headers, _ = preflight(server, origin)
            assert status == 200 and headers.get("access-control-allow-origin") == origin
        status, headers, _ = preflight(server, "http://evil.example")
        assert status == 400 and "access-control-allow-origin" not in headers
        status, headers, _ = call(server, "GET", "/v1/models", Origin="http://evil.example")
        assert status == 200 and "access-control-allow-origin" not in headers
    finally:
        server.stop()
    run, built = _serve(monkeypatch, "--cors-origin", "none")
    assert run.exit_code == 0, (run.output, run.exception)
    server = Server(built[0])
    try:
        status, headers, _ = call(server, "GET", "/v1/models", Origin=PAGE)
        assert status == 200 and "access-control-allow-origin" not in headers
    finally:
        server.stop()


def test_serve_cors_origin_refuses_what_no_browser_sends(monkeypatch):
    for bad in ("localhost:3000", "http://localhost:3000/", "none,*"):
        run, built = _serve(monkeypatch, "--cors-origin", bad)
        assert run.exit_code == 2 and "origins such as http://" in run.output, (bad, run.output)
        assert not built


def test_paths_without_v1_are_served_as_llama_cpp_serves_them(server):
    """A client whose base URL lacks ``/v1`` (llama.cpp's server answers both) got 404s."""
    for path, body in (("/chat/completions", CHAT), ("/completions", TEXT)):
        status, _, answer = call(server, "POST", path, body)
        assert status == 200, (path, answer)
        assert answer["usage"]["completion_tokens"] <= 3
        assert answer["model"] == "tiny" and answer["choices"][0]["finish_reason"]
    status, _, listing = call(server, "GET", "/models")
    assert status == 200 and [m["id"] for m in listing["data"]] == ["tiny"]
    status, _, card = call(server, "GET", "/models/tiny")
    assert status == 200 and card["id"] == "tiny"
    assert call(server, "GET", "/models/nope")[0] == 404
    assert call(server, "GET", "/chat/completions")[0] == 405


@pytest.mark.parametrize("path,body", [("/v1/chat/completions", CHAT), ("/v1/completions", TEXT)])
def test_include_usage_sends_null_usage_on_every_other_chunk(server, path, body):
    """OpenAI: "All other chunks will also include a usage field, but with a null value";
    clients reading ``chunk["usage"]`` got a KeyError."""
    body = {**body, "stream": True, "stream_options": {"include_usage": True}}
    status, _, raw = call(server, "POST", path, body)
    assert status == 200
    chunks = events(raw)
    assert chunks[-1] == "[DONE]" and len(chunks) >= 3
    *others, last = chunks[:-1]
    assert all("usage" in c and c["usage"] is None for c in others), others
    assert last["choices"] == [] and last["usage"]["completion_tokens"] <= 3
    status, _, raw = call(server, "POST", path, {**body, "stream_options": None})
    assert all("usage" not in c for c in events(raw)[:-1])  # not asked: no usage at all


def _text(server, **extra):
    status, _, answer = call(server, "POST", "/v1/completions", {**TEXT, **extra})
    return status, answer


BAD_LIMITS = [
    ({"max_tokens": None, "n_predict": 5, "max_completion_tokens": 7}, "n_predict"),
    ({"max_tokens": None, "n_predict": True}, "n_predict"),
    ({"max_tokens": None, "n_predict": 0}, "n_predict"),
    ({"max_tokens": None, "n_predict": 301}, "n_predict"),
    ({"max_tokens": None, "n_predict": "5"}, "n_predict"),
    ({"repeat_penalty": "x"}, "repeat_penalty"),
    ({"repeat_last_n": 0}, "repeat_last_n"),
    ({"max_tokens": "x", "max_completion_tokens": 3}, "max_tokens"),
    ({"max_tokens": 0, "max_completion_tokens": 3}, "max_tokens"),
    ({"max_tokens": 301, "max_completion_tokens": 3}, "max_tokens"),
]


@pytest.mark.parametrize("extra,param", BAD_LIMITS)
def test_token_limits_under_any_name_are_checked_and_named(server, extra, param):
    """``n_predict`` beside a different ``max_completion_tokens`` was dropped silently; a bad
    llama.cpp value was reported under the OpenAI name the client never sent; a bad
    ``max_tokens`` beside ``max_completion_tokens`` was never looked at."""
    status, answer = _text(server, **extra)
    assert status == 400, (extra, answer)
    assert answer["error"]["param"] == param, answer
    assert f"'{param}'" in answer["error"]["message"], answer
    if extra.get("max_completion_tokens") is None:
        return
    for agree in (  # names that agree are taken (two values: tests/test_review_s57_leads.py)
        {"max_tokens": None, "n_predict": 2, "max_completion_tokens": 2},
        {"max_tokens": 2, "n_predict": 2, "max_completion_tokens": 2},
    ):
        status, answer = _text(server, **agree)
        assert status == 200 and answer["usage"]["completion_tokens"] <= 2, (agree, answer)


def test_llama_cpp_grammar_and_json_schema_are_refused_not_ignored(server):
    """llama.cpp constrains the reply with them; they were ignored (an unconstrained reply,
    though a ``response_format`` other than text is refused). ``json_schema: {}`` is a
    constraint too (any JSON value); ``grammar: ""`` (llama.cpp's default) is none."""
    for extra in (
        {"grammar": 'root ::= "yes" | "no"'},
        {"json_schema": {"type": "object"}},
        {"json_schema": {}},
    ):
        (name,) = extra
        for path, body in (("/v1/completions", TEXT), ("/v1/chat/completions", CHAT)):
            status, _, answer = call(server, "POST", path, {**body, **extra})
            assert status == 400, (path, answer)
            assert answer["error"]["param"] == name and f"'{name}'" in answer["error"]["message"]
    for extra in ({"grammar": ""}, {"grammar": None}, {"json_schema": None}):
        assert _text(server, **extra)[0] == 200, extra
