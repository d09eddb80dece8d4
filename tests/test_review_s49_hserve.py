"""Review (s49, `mlx_ifp serve` driven as users of the OpenAI API and llama.cpp's server do):

- A web page on a public origin named by `--cors-origin` (a hosted chat UI calling `serve` on
  the user's machine): Chrome's Private Network Access preflight
  (`Access-Control-Request-Private-Network: true`) was answered **400 "Disallowed CORS
  private-network"** by Starlette's CORS middleware (its default), so the browser refused the
  call although the server names the page. Now origins named get
  `Access-Control-Allow-Private-Network: true`; `*` (any page, the default) still does not, so a
  browser that checks it keeps arbitrary public pages off the local server.
- llama.cpp's server's `n_indent` (stop at a line indented less), `t_max_predict_ms` (a time
  limit), `lora` (per-request adapter scales) and `post_sampling_probs` (probabilities after
  the sampler chain) were **dropped silently**, a reply (or its probabilities) unlike what was
  asked: now a 400 naming the setting; the values that ask nothing (0, [], false) are taken.
- `seed: -1`, llama.cpp's server's "a random seed" (its default, as its clients send it): every
  request was **seeded with -1**, so each "regenerate" at a temperature gave the same reply.
  Now -1 is no seed, as llama.cpp reads it (and as the server already reads llama.cpp's -1 for
  `n_predict` and `repeat_last_n`); every other integer is a seed, as before.

Every test here but the guards (said in their docstrings) fails on the code it was written
against, for the reason in its docstring.
"""

from mlx_ifp.serve.app import create_app
from mlx_ifp.serve.registry import Registry
from mlx_ifp.serve.schemas import APIError, Limits, parse_request

import pytest
from test_review_s44_serve2 import CHAT, call
from test_serve import KEEP, Server, word_tokenizer
from tiny import tiny_model

PUBLIC_PAGE = "https://chat.example.com"
LIMITS = Limits(max_tokens_limit=300, timeout_s=30)


@pytest.fixture(scope="module")
def registry():
    return Registry(tiny_model("llama"), word_tokenizer(), "tiny", keep=KEEP, cache_bytes=1e6)


def pna_preflight(server, origin: str):
    return call(
        server,
        "OPTIONS",
        "/v1/chat/completions",
        Origin=origin,
        Access_Control_Request_Method="POST",
        Access_Control_Request_Headers="authorization, content-type",
        Access_Control_Request_Private_Network="true",
    )


@pytest.mark.parametrize("origins", [(PUBLIC_PAGE,), ("http://localhost:3000", PUBLIC_PAGE)])
def test_a_public_page_named_by_cors_origin_may_call_a_local_server(registry, origins):
    """Chrome's preflight for a public page calling a private address was a 400 ("Disallowed
    CORS private-network") although ``--cors-origin`` named that page: the browser never sent
    the request."""
    server = Server(create_app(registry, LIMITS, cors_origins=origins))
    try:
        status, headers, body = pna_preflight(server, PUBLIC_PAGE)
        assert status == 200, (status, body)
        assert headers.get("access-control-allow-private-network") == "true"
        assert headers.get("access-control-allow-origin") == PUBLIC_PAGE
        status, headers, answer = call(server, "POST", "/v1/chat/completions", CHAT,
                                       Origin=PUBLIC_PAGE)  # fmt: skip
        assert status == 200 and answer["choices"][0]["message"]["content"] is not None
        assert headers.get("access-control-allow-origin") == PUBLIC_PAGE
    finally:
        server.stop()


def test_any_origin_does_not_open_a_local_server_to_every_public_page(registry):
    """Guard: with the default ``*`` a browser that checks private-network access still keeps
    arbitrary public pages off the local server (a page must be named to be let in), while a
    plain cross-origin preflight is granted as before."""
    server = Server(create_app(registry, LIMITS, cors_origins=("*",)))
    try:
        status, headers, body = pna_preflight(server, PUBLIC_PAGE)
        assert status == 400 and b"private-network" in body, body
        assert "access-control-allow-private-network" not in headers
        status, headers, _ = call(server, "OPTIONS", "/v1/chat/completions", Origin=PUBLIC_PAGE,
                                  Access_Control_Request_Method="POST")  # fmt: skip
        assert status == 200 and headers.get("access-control-allow-origin") == "*"
    finally:
        server.stop()


def test_an_origin_not_allowed_still_gets_no_private_network_grant(registry):
    """Guard: a page of an origin not allowed still fails the preflight (a 400, no
    ``Access-Control-Allow-Origin``: the browser sends nothing), private network or not."""
    server = Server(create_app(registry, LIMITS, cors_origins=("http://localhost:3000",)))
    try:
        status, headers, body = pna_preflight(server, PUBLIC_PAGE)
        assert status == 400 and b"origin" in body, body
        assert "access-control-allow-origin" not in headers
    finally:
        server.stop()


def test_a_server_with_no_cors_sends_no_cors_headers(registry):
    """Guard: ``--cors-origin none`` (no origins) adds no CORS headers, private network none."""
    server = Server(create_app(registry, LIMITS, cors_origins=()))
    try:
        status, headers, _ = pna_preflight(server, PUBLIC_PAGE)
        assert status == 405
        assert not [h for h in headers if h.startswith("access-control-")]
    finally:
        server.stop()


ASKS = {  # llama.cpp's server's request settings that change the reply (or its probabilities)
    "n_indent": 4,
    "t_max_predict_ms": 500,
    "lora": [{"id": 0, "scale": 0.5}],
    "post_sampling_probs": True,
}


@pytest.mark.parametrize("chat", [True, False])
@pytest.mark.parametrize("name", list(ASKS))
def test_llama_cpp_settings_that_change_the_reply_are_refused_not_ignored(name, chat):
    """Each was taken and dropped: a 200 with a reply unlike the one asked for."""
    base = dict(CHAT) if chat else {"model": "tiny", "prompt": "t5 t6", "max_tokens": 3}
    with pytest.raises(APIError) as e:
        parse_request({**base, name: ASKS[name]}, chat, LIMITS)
    assert e.value.status == 400 and e.value.param == name
    assert name in e.value.message


@pytest.mark.parametrize(
    "extra",
    [
        {"n_indent": 0},
        {"t_max_predict_ms": 0},
        {"lora": []},
        {"post_sampling_probs": False},
        {"n_indent": None, "lora": None},
    ],  # fmt: skip
)
def test_llama_cpp_settings_at_their_off_values_are_taken(extra):
    """Guard: what llama.cpp's clients send by default (off) is still served."""
    req = parse_request({**CHAT, **extra}, True, LIMITS)
    assert req.max_tokens == 3


def test_llama_cpp_seed_minus_one_is_a_random_seed_not_a_fixed_one():
    """``seed: -1`` was taken as the seed -1: every sampled reply the same."""
    for chat in (True, False):
        base = dict(CHAT) if chat else {"model": "tiny", "prompt": "t5 t6", "max_tokens": 3}
        req = parse_request({**base, "temperature": 1.0, "seed": -1}, chat, LIMITS)
        assert req.seed is None


@pytest.mark.parametrize("seed", [0, -2, 7, 2**63 - 1, -(2**63)])
def test_every_other_integer_seed_is_still_a_seed(seed):
    """Guard: OpenAI's seeds (any int64, negative ones too) fix the draws as before."""
    assert parse_request({**CHAT, "seed": seed}, True, LIMITS).seed == seed


def test_a_seed_of_minus_one_draws_afresh_on_the_served_model(registry, monkeypatch):
    """End to end: the worker seeds MLX's generator for a seeded request only; ``-1`` seeded it
    with -1 (mod 2**64) every time."""
    import mlx_ifp.serve.registry as reg

    import mlx.core as mx

    seeds, real = [], mx.random.seed
    monkeypatch.setattr(reg.mx.random, "seed", lambda s: seeds.append(s) or real(s))
    for seed in (-1, 5):
        req = parse_request({**CHAT, "temperature": 1.0, "seed": seed}, True, LIMITS)
        pieces = list(registry.generate(req))
        assert pieces[-1].finish_reason is not None
    assert seeds[0] == 5 and (-1) % 2**64 not in seeds  # (then 5's state put back, a seed too)
