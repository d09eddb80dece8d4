"""mlx-lm's ``top_k`` and ``min_p`` sampling in the API, the CLI and the server: top_k=1 (or a
min_p near 1) samples only the most likely token, so a hot temperature decodes greedily."""

import json

import mlx_ifp
from mlx_ifp.bench.models import synthetic_tokenizer
from mlx_ifp.cli import app

import mlx.core as mx
import pytest
from test_serve_edges import post, server  # noqa: F401  (the fixture)
from tiny import tiny_model
from typer.testing import CliRunner

RUN = dict(keep=0.5, mask_source="griffin", chat_template=False)


def tokens(model, tok, **kw):
    mx.random.seed(3)
    return [r.token for r in mlx_ifp.stream_generate(model, tok, "t5 t9 t3", 12, **RUN, **kw)]


def test_top_k_one_or_min_p_near_one_is_greedy_at_any_temperature():
    model, tok = tiny_model("llama"), synthetic_tokenizer(128)
    greedy = tokens(model, tok)
    assert tokens(model, tok, temp=1.5) != greedy  # the check below can fail
    assert tokens(model, tok, temp=1.5, top_k=1) == greedy
    assert tokens(model, tok, temp=1.5, min_p=0.999) == greedy


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("top_k", -1),
        ("top_k", 1.5),
        ("top_k", True),
        ("min_p", 1.0),
        ("min_p", -0.1),
        ("min_p", float("nan")),
    ],  # fmt: skip
)
def test_bad_values_are_one_line(option, value):
    model, tok = tiny_model("llama"), synthetic_tokenizer(128)
    with pytest.raises(mlx_ifp.UsageError, match=f"^{option} must be"):
        mlx_ifp.generate(model, tok, "t5", max_tokens=4, **RUN, **{option: value})


def test_the_cli_flags(monkeypatch):
    monkeypatch.setattr(
        mlx_ifp, "load", lambda *a, **k: (tiny_model("llama"), synthetic_tokenizer(128))
    )

    def run(*args):
        base = ["generate", "-p", "t5 t9 t3", "-m", "8", "--mask-source", "griffin"]
        return CliRunner().invoke(app, [*base, "--ignore-chat-template", "--quiet", *args])

    greedy = run()
    assert greedy.exit_code == 0, greedy.output
    assert run("--temp", "1.5", "--top-k", "1", "--seed", "3").output == greedy.output
    bad = run("--top-k", "-2")
    assert bad.exit_code == 2 and bad.output.startswith("Error: --top-k must be"), bad.output


def test_the_server_fields(server):  # noqa: F811
    def ask(**fields):
        body = {"model": "tiny", "prompt": "t5 t9 t3", "max_tokens": 8, **fields}
        return post(server.url, json.dumps(body).encode(), "/v1/completions")

    status, greedy = ask()
    assert status == 200, greedy
    status, hot = ask(temperature=1.5, top_k=1, seed=3)
    assert status == 200 and hot["choices"][0]["text"] == greedy["choices"][0]["text"]
    for fields, param in (({"top_k": -1}, "top_k"), ({"top_k": "x"}, "top_k"),
                          ({"min_p": 1}, "min_p")):  # fmt: skip
        status, answer = ask(**fields)
        assert status == 400 and answer["error"]["param"] == param, answer
