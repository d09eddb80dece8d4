"""Edge cases of ``mlx_ifp serve`` found in review: inputs that must get a 4xx in OpenAI's
error shape (never a 500), a model id holding a ':', and the CLI's bad ``--log-level``.

Same pattern as ``test_serve``: a tiny random llama with a word-level tokenizer, served by a
real uvicorn in a thread, driven with raw HTTP requests.
"""

import json

import mlx_ifp
from mlx_ifp.serve.app import create_app
from mlx_ifp.serve.registry import Registry
from mlx_ifp.serve.schemas import Limits

import pytest
from test_serve import CODE, KEEP, Server, is_openai_error, post, word_tokenizer
from tiny import tiny_model

CHAT = {"model": "tiny", "messages": [{"role": "user", "content": "t5 t6 t7"}], "max_tokens": 2}


@pytest.fixture(scope="module")
def server():
    model, tok = tiny_model("llama"), word_tokenizer()
    registry = Registry(model, tok, "tiny", keep=KEEP, cache_bytes=1e6)
    limits = Limits(max_body_bytes=1 << 20, max_tokens_limit=64, timeout_s=30)
    s = Server(create_app(registry, limits))
    yield s
    s.stop()


@pytest.mark.parametrize("seed", [-2, 2**64])  # (-1 is no seed: llama.cpp's random one)
def test_any_integer_seed_is_not_a_500(server, seed):
    """OpenAI's ``seed`` is any int64 (negatives included); ``mx.random.seed`` takes only
    uint64, and the TypeError on the worker comes back as a 500 'internal error'."""
    status, body = post(server.url, json.dumps({**CHAT, "seed": seed}).encode())
    assert status < 500, body
    if status != 200:
        assert status == 400 and is_openai_error(body) and body["error"]["param"] == "seed"


@pytest.mark.parametrize(
    "name", ["temperature", "top_p", "presence_penalty", "frequency_penalty", "repetition_penalty"]
)
def test_huge_integer_numbers_are_a_400(server, name):
    """A JSON integer too large for a float: ``math.isfinite`` raises OverflowError -> 500."""
    body = json.dumps(CHAT)[:-1] + f', "{name}": 1{"0" * 400}}}'
    status, answer = post(server.url, body.encode())
    assert status == 400 and is_openai_error(answer), answer
    assert answer["error"]["param"] == name


def test_deeply_nested_json_is_a_400(server):
    """A small body nested deeper than the JSON decoder recurses: RecursionError -> 500."""
    status, answer = post(server.url, b"[" * 100_000 + b"]" * 100_000)
    assert status == 400 and is_openai_error(answer), answer


def test_a_model_id_with_a_colon_is_served():
    """``serve --model-name llama3:8b``: the id is listed, yet every request for it (and
    ``/v1/models`` itself) is a 404, since ``resolve`` splits the id at its first ':'."""
    model, tok = tiny_model("llama"), word_tokenizer()
    registry = Registry(
        model, tok, "llama3:8b", keep=KEEP, tasks={"code": {"task": CODE}}, cache_bytes=1e6
    )
    s = Server(create_app(registry, Limits(max_tokens_limit=64, timeout_s=30)))
    try:
        status, body = post(s.url, b"", "/v1/models", "GET")
        assert status == 200, body
        assert [m["id"] for m in body["data"]] == ["llama3:8b", "llama3:8b:code"]
        for model_id in ("llama3:8b", "llama3:8b:code"):
            status, body = post(s.url, json.dumps({**CHAT, "model": model_id}).encode())
            assert status == 200, body
            assert body["model"] == model_id
    finally:
        s.stop()


def test_serve_command_refuses_a_bad_log_level(monkeypatch):
    """A bad ``--log-level`` is a one-line error with exit code 2 (the CLI's contract), not a
    KeyError traceback from uvicorn after the model has loaded."""
    from mlx_ifp.cli import app

    import uvicorn
    from typer.testing import CliRunner

    def never_serve(self, *a, **k):
        raise AssertionError("the server started with --log-level loud")

    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: (tiny_model("llama"), word_tokenizer()))
    monkeypatch.setattr(uvicorn.Server, "run", never_serve)
    run = CliRunner().invoke(app, ["serve", "--mask-source", "griffin", "--log-level", "loud"])
    assert run.exit_code == 2 and "log" in run.output.lower(), (run.output, run.exception)


def test_include_usage_must_be_a_boolean(server):
    """``"include_usage": "no"`` is a wrong type (OpenAI's is a boolean), not true."""
    body = {**CHAT, "stream": True, "stream_options": {"include_usage": "no"}}
    status, answer = post(server.url, json.dumps(body).encode())
    assert status == 400 and is_openai_error(answer), answer
    assert answer["error"]["param"] == "stream_options.include_usage"  # OpenAI's path (s47)
