"""Fiftieth session (a feature, not a fix): ``mlx_ifp serve --api-key`` as llama-server's.

``mlx_ifp serve`` had no authentication: anyone who could reach the port could generate.
llama-server takes ``--api-key KEY`` (a comma-separated list; env ``LLAMA_API_KEY``) and
``--api-key-file FILE`` (one key per line, blank lines skipped); with a key, every request but
``OPTIONS`` (browsers send preflights without ``Authorization``) and the public ``/health`` and
``/models`` (``/v1/models``) needs ``Authorization: Bearer KEY`` (or ``X-Api-Key: KEY``), else
a 401 with an error body. Here the same, env ``MLX_IFP_API_KEY``, the 401 in the server's
OpenAI error shape (type ``authentication_error``, code ``invalid_api_key``); an empty key (which
would let a request with an empty header in) or an unreadable key file is refused at start-up.

The CLI builds the app (uvicorn.run patched: ``_serve``), a real uvicorn serves it on a free
loopback port, and the openai client or raw HTTP requests call it. Every test but the guards
(said in their docstrings) fails on the code it was written against: there was no
``--api-key`` (exit 2, "No such option").
"""

import socket

import mlx_ifp

import openai
import pytest
from test_review_s44_serve2 import CHAT, TEXT, call
from test_serve import Server, word_tokenizer
from tiny import tiny_model

KEY, OTHER = "s3cret-key", "2nd-key_x"
PAGE = "http://localhost:3000"


def _serve(monkeypatch, *args):
    """``mlx_ifp serve ARGS`` on the tiny model, uvicorn not started: (result, the app built)."""
    from mlx_ifp.cli import app

    import uvicorn
    from typer.testing import CliRunner

    built = []
    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: (tiny_model("llama"), word_tokenizer()))
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: built.append(app))
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    args = ["serve", "--mask-source", "griffin", "--port", str(port), *args]
    return CliRunner().invoke(app, args), built


@pytest.fixture
def served(monkeypatch):
    """``serve ARGS`` on the tiny model, served for real: yields a function starting one."""
    servers = []

    def start(*args):
        run, built = _serve(monkeypatch, "--model-name", "tiny", *args)
        assert run.exit_code == 0 and built, (run.output, run.exception)
        servers.append(Server(built[0]))
        return servers[-1], run.output

    yield start
    for s in servers:
        s.stop()


def client(server, key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=server.url + "/v1", api_key=key, max_retries=0)


def is_auth_error(status, headers, body) -> bool:
    """A 401 in the server's OpenAI error shape, with RFC 6750's challenge."""
    err = body.get("error") if isinstance(body, dict) else None
    return (
        status == 401
        and isinstance(err, dict)
        and set(err) == {"message", "type", "param", "code"}
        and err["type"] == "authentication_error"
        and err["code"] == "invalid_api_key"
        and headers.get("www-authenticate") == "Bearer"
    )


def test_a_request_without_the_key_or_with_a_wrong_one_is_a_401(served):
    server, _ = served("--api-key", KEY)
    for path, body in (("/v1/chat/completions", CHAT), ("/v1/completions", TEXT)):
        answer = call(server, "POST", path, body)
        assert is_auth_error(*answer), answer
        for header in (f"Bearer {OTHER}", "Bearer ", "Bearer", KEY[:-1], f"Basic {KEY}"):
            answer = call(server, "POST", path, body, Authorization=header)
            assert is_auth_error(*answer), (header, answer)
    with pytest.raises(openai.AuthenticationError) as info:
        client(server, OTHER).chat.completions.create(**CHAT)
    assert info.value.status_code == 401 and info.value.body["type"] == "authentication_error"
    answer = call(server, "GET", "/v1/nowhere")  # an unknown path too: no hint what exists
    assert is_auth_error(*answer), answer


def test_the_right_key_is_served(served):
    server, out = served("--api-key", KEY)
    assert "API key" in out and KEY not in out, out  # said, never printed
    reply = client(server, KEY).chat.completions.create(**CHAT)
    assert reply.choices[0].message.content is not None and reply.usage.completion_tokens <= 3
    reply = client(server, KEY).completions.create(**TEXT)
    assert reply.choices[0].text is not None
    stream = client(server, KEY).chat.completions.create(**CHAT, stream=True)
    assert [c for c in stream]
    for headers in ({"Authorization": f"bearer {KEY}"}, {"X_Api_Key": KEY}):  # llama-server's
        status, _, body = call(server, "POST", "/v1/chat/completions", CHAT, **headers)
        assert status == 200 and body["choices"], (headers, body)


def test_health_and_models_stay_public_as_llama_server_keeps_them(served):
    server, _ = served("--api-key", KEY)
    for path in ("/health", "/v1/models", "/models", "/v1/models/tiny", "/models/tiny"):
        status, _, body = call(server, "GET", path)
        assert status == 200 and body, (path, body)
    assert [m.id for m in client(server, "wrong").models.list()] == ["tiny"]


def test_a_browser_preflight_needs_no_key_and_a_401_is_readable_by_the_page(served):
    server, _ = served("--api-key", KEY)
    status, headers, _ = call(
        server,
        "OPTIONS",
        "/v1/chat/completions",
        Origin=PAGE,
        Access_Control_Request_Method="POST",
        Access_Control_Request_Headers="authorization, content-type",
    )
    assert status == 200 and headers.get("access-control-allow-origin") == "*", headers
    assert "authorization" in headers.get("access-control-allow-headers", "").lower(), headers
    status, headers, body = call(server, "POST", "/v1/chat/completions", CHAT, Origin=PAGE)
    assert status == 401 and headers.get("access-control-allow-origin") == "*", (headers, body)
    status, _, body = call(
        server, "POST", "/v1/chat/completions", CHAT, Origin=PAGE, Authorization=f"Bearer {KEY}"
    )
    assert status == 200, body


def test_keys_from_a_file_a_comma_list_and_the_environment(served, tmp_path, monkeypatch):
    keys = tmp_path / "keys.txt"
    keys.write_text(f"{KEY}\r\n\n  {OTHER}  \n")  # CRLF, a blank line, spaces: all taken
    server, _ = served("--api-key-file", str(keys), "--api-key", "third")
    for key in (KEY, OTHER, "third"):
        assert client(server, key).chat.completions.create(**CHAT).choices, key
    assert call(server, "POST", "/v1/completions", TEXT, Authorization="Bearer ")[0] == 401
    server, _ = served("--api-key", f"{KEY},{OTHER}")
    for key in (KEY, OTHER):
        assert client(server, key).completions.create(**TEXT).choices, key
    assert call(server, "POST", "/v1/completions", TEXT)[0] == 401
    monkeypatch.setenv("MLX_IFP_API_KEY", OTHER)
    server, _ = served()
    assert client(server, OTHER).completions.create(**TEXT).choices
    with pytest.raises(openai.AuthenticationError):
        client(server, KEY).completions.create(**TEXT)


@pytest.mark.parametrize(
    "args, said",
    [
        (["--api-key", ""], "empty"),
        (["--api-key", "a,,b"], "empty"),
        (["--api-key", "a b"], "printable"),
        (["--api-key", "kéy"], "printable"),
        (["--api-key-file", "MISSING"], "cannot read"),
        (["--api-key-file", "DIR"], "cannot read"),
        (["--api-key-file", "EMPTY"], "no key"),
        (["--api-key-file", "SPACED"], "printable"),
    ],
)
def test_an_empty_key_or_an_unreadable_key_file_is_refused(monkeypatch, tmp_path, args, said):
    """Exit 2 with one line, before the model loads (uvicorn never started). An empty key
    would match a request whose header is ``Bearer `` (llama-server takes ``--api-key ""``)."""
    (tmp_path / "EMPTY").write_text("\n  \n")
    (tmp_path / "SPACED").write_text("one key\n")  # one key with a space, not two keys
    paths = {"MISSING": tmp_path / "no.txt", "DIR": tmp_path}
    paths.update({n: tmp_path / n for n in ("EMPTY", "SPACED")})
    args = [str(paths.get(a, a)) for a in args]
    run, built = _serve(monkeypatch, *args)
    assert run.exit_code == 2 and not built, (run.output, run.exception)
    lines = [line for line in run.output.splitlines() if line.strip()]
    assert len(lines) == 1 and said in lines[0] and "api-key" in lines[0], run.output


def test_without_a_key_nothing_changes(served):
    """A guard (it passed before): no key, no check; the Authorization header is ignored."""
    server, _ = served()
    assert call(server, "POST", "/v1/chat/completions", CHAT)[0] == 200
    assert client(server, "anything").completions.create(**TEXT).choices


def test_the_open_binding_warning_is_for_a_server_without_a_key(monkeypatch):
    run, built = _serve(monkeypatch, "--host", "0.0.0.0")
    assert run.exit_code == 0 and "no authentication" in run.output and "--api-key" in run.output
    run, built = _serve(monkeypatch, "--host", "0.0.0.0", "--api-key", KEY)
    assert run.exit_code == 0 and "no authentication" not in run.output, run.output


def test_the_python_api_refuses_an_empty_key_and_takes_a_string_as_one_key():
    import mlx_ifp
    from mlx_ifp.serve.app import create_app
    from mlx_ifp.serve.registry import Registry

    from test_serve import KEEP

    registry = Registry(tiny_model("llama"), word_tokenizer(), "tiny", keep=KEEP, cache_bytes=1e6)
    with pytest.raises(mlx_ifp.UsageError, match="empty"):
        create_app(registry, api_keys=[KEY, ""])
    server = Server(create_app(registry, api_keys=KEY))  # one key, not one per character
    try:
        assert call(server, "POST", "/v1/completions", TEXT, Authorization="Bearer s")[0] == 401
        assert client(server, KEY).completions.create(**TEXT).choices
    finally:
        server.stop()
