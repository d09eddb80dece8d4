"""Review of ``mlx_ifp serve`` and ``mlx_ifp chat`` (thirty-sixth session, a helper's hunt).

- ``serve --host ::1`` printed "Serving ... on http://::1:8080/v1": an IPv6 address needs
  brackets in a URL, so the line a user copies into a client was not a URL.
- ``serve --timeout nan`` was taken (``nan <= 0`` is false, as ``--cache-gb nan`` was before it
  was refused): every request's deadline was NaN, so no request ever timed out.

Same pattern as ``test_review_s34_serve2``: the command on a tiny model, uvicorn not started.
"""

import socket

import mlx_ifp

import pytest
from test_serve import word_tokenizer
from tiny import tiny_model


def _serve(monkeypatch, *args):
    from mlx_ifp.cli import app

    import uvicorn
    from typer.testing import CliRunner

    loads, served = [], []

    def load(*a, **k):
        loads.append(a)
        return tiny_model("llama"), word_tokenizer()

    monkeypatch.setattr(mlx_ifp, "load", load)
    monkeypatch.setattr(uvicorn, "run", lambda app, **kw: served.append(kw))
    run = CliRunner().invoke(app, ["serve", "--mask-source", "griffin", *args])
    return run, loads, served


def _free_port(family=socket.AF_INET, host="127.0.0.1") -> int:
    with socket.socket(family) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def test_the_serving_line_brackets_an_ipv6_host(monkeypatch):
    """``--host ::1`` printed ``http://::1:PORT/v1``, not a URL (``http://[::1]:PORT/v1``)."""
    try:
        port = _free_port(socket.AF_INET6, "::1")
    except OSError:
        pytest.skip("no IPv6 loopback here")
    run, _, served = _serve(monkeypatch, "--host", "::1", "--port", str(port))
    assert run.exit_code == 0, (run.output, run.exception)
    assert f"http://[::1]:{port}/v1" in run.output, run.output
    assert served and served[0]["host"] == "::1"  # uvicorn itself takes the bare address


def test_the_serving_line_keeps_an_ipv4_host_as_is(monkeypatch):
    port = _free_port()
    run, _, _ = _serve(monkeypatch, "--port", str(port))
    assert run.exit_code == 0, (run.output, run.exception)
    assert f"http://127.0.0.1:{port}/v1" in run.output, run.output


def test_a_timeout_of_nan_is_refused_before_loading(monkeypatch):
    """``--timeout nan`` was accepted and no request ever timed out (``nan <= 0`` is false)."""
    run, loads, served = _serve(monkeypatch, "--timeout", "nan", "--port", str(_free_port()))
    assert run.exit_code == 2 and "--timeout" in run.output, (run.output, run.exception)
    assert not loads and not served


def test_llama_cpp_names_of_settings_are_taken_not_ignored():
    """(the helper's lead) A llama.cpp client's `repeat_penalty`, `n_predict` and
    `repeat_last_n` were silently ignored: its repeat penalty had no effect."""
    from mlx_ifp.serve.schemas import APIError, Limits, parse_request

    limits = Limits(max_tokens_limit=64, timeout_s=30)
    body = {"model": "m", "prompt": "hi", "repeat_penalty": 1.3, "n_predict": 7}
    req = parse_request({**body, "repeat_last_n": 12}, chat=False, limits=limits)
    assert (req.repetition_penalty, req.max_tokens, req.repetition_context_size) == (1.3, 7, 12)
    assert req.max_tokens_given
    with pytest.raises(APIError, match="name one setting"):
        parse_request({**body, "max_tokens": 9}, chat=False, limits=limits)
    with pytest.raises(APIError, match="'repeat_penalty' must be"):  # the name sent (s44)
        parse_request({**body, "repeat_penalty": -1}, chat=False, limits=limits)
