"""Review (s48, `mlx_ifp serve` with the official openai client and llama.cpp-style clients):

- The openai client retries (2 times by default) a 5xx, so a request past `--timeout` (504) or
  one whose generation failed (500) ran up to three times on the single worker, each retry
  queued behind the others' work, for the same answer. The server now sends
  `x-should-retry: false` with those (the client obeys it); a 503 (queue full, stopping) still
  invites the retry, after its `Retry-After`.
- llama.cpp's server's samplers (`mirostat`, `typical_p`, `tfs_z`, `dry_multiplier`,
  `top_n_sigma`, `n_probs`, `min_keep`) at a value that asks for something were dropped
  silently: now a 400 naming the setting; the values that turn them off are still taken.
- mlx-lm's server's `presence_context_size` and `frequency_context_size` (each penalty's own
  window) were dropped silently: every penalty used `repetition_context_size`'s window.

Every test here but the guards (said in their docstrings) fails on the code it was written
against, for the reason in its docstring.
"""

import http.client
import json
import threading

from mlx_ifp.serve.app import create_app
from mlx_ifp.serve.registry import Registry
from mlx_ifp.serve.schemas import APIError, Limits, parse_request

import openai
import pytest
from test_serve import KEEP, Server, word_tokenizer
from tiny import tiny_model

CHAT = {"model": "tiny", "messages": [{"role": "user", "content": "t5 t6 t7"}], "max_tokens": 3}


def counting(app, posts: list):
    """``app`` (ASGI), noting each POST that reaches it."""

    async def wrapped(scope, receive, send):
        if scope["type"] == "http" and scope["method"] == "POST":
            posts.append(scope["path"])
        await app(scope, receive, send)

    return wrapped


@pytest.fixture(scope="module")
def served():
    registry = Registry(tiny_model("llama"), word_tokenizer(), "tiny", keep=KEEP, cache_bytes=1e6)
    app, posts = create_app(registry, Limits(max_tokens_limit=300, timeout_s=30)), []
    server = Server(counting(app, posts))
    yield server, app, posts
    server.stop()


def default_client(server) -> openai.OpenAI:
    """The openai client as an app makes it: its default retries (2)."""
    return openai.OpenAI(base_url=server.url + "/v1", api_key="none")


def test_a_request_past_the_timeout_reaches_the_server_once(served, monkeypatch):
    """The 504 was retried twice by the client: three requests, each a full generation."""
    server, app, posts = served
    release = threading.Event()

    def stuck(req, *check):  # a generation slower than the timeout
        release.wait(10)
        yield from ()

    monkeypatch.setattr(app.state.registry, "generate", stuck)
    monkeypatch.setattr(app.state.limits, "timeout_s", 0.2)
    posts.clear()
    try:
        with pytest.raises(openai.APIStatusError) as info:
            default_client(server).chat.completions.create(**CHAT)
    finally:
        release.set()
    assert info.value.status_code == 504 and info.value.body["code"] == "timeout"
    assert posts == ["/v1/chat/completions"], posts


def test_a_failed_generation_reaches_the_server_once(served, monkeypatch):
    """The 500 (an error while generating) was retried twice, failing the same way."""
    server, app, posts = served

    def broken(req, *check):
        raise RuntimeError("boom")
        yield

    monkeypatch.setattr(app.state.registry, "generate", broken)
    posts.clear()
    with pytest.raises(openai.InternalServerError):
        default_client(server).completions.create(model="tiny", prompt="t5 t6", max_tokens=2)
    assert posts == ["/v1/completions"], posts


def test_a_full_queue_still_invites_a_retry(served, monkeypatch):
    """A guard (passed before the fix): a 503 is the server's state, not the request's; a
    retry after `Retry-After` may find room, so it is not marked `x-should-retry: false`."""
    server, app, _ = served
    monkeypatch.setattr(app.state.scheduler, "max_queue", 0)
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("POST", "/v1/chat/completions", json.dumps(CHAT))
    r = conn.getresponse()
    conn.close()
    assert r.status == 503 and r.getheader("retry-after") == "1", r.getheaders()
    assert r.getheader("x-should-retry") != "false", r.getheaders()


LIMITS = Limits(max_tokens_limit=300)

ASKS = [
    ("mirostat", 2),
    ("typical_p", 0.9),
    ("tfs_z", 0.95),
    ("dry_multiplier", 0.8),
    ("top_n_sigma", 1.5),
    ("n_probs", 5),
    ("min_keep", 5),
]


@pytest.mark.parametrize("name, value", ASKS, ids=[f"{n}={v}" for n, v in ASKS])
def test_llama_cpp_samplers_that_ask_for_something_are_a_400(name, value):
    """Each was taken and dropped: a plain reply, the sampler never run."""
    with pytest.raises(APIError) as info:
        parse_request({**CHAT, name: value}, True, LIMITS)
    e = info.value
    assert e.status == 400 and e.param == name and name in e.message, e.message
    assert "not supported" in e.message, e.message


def test_llama_cpp_samplers_turned_off_are_taken():
    """A guard (passed before the fix): the values that turn each sampler off, and the
    settings of a sampler that is off, as llama.cpp's web UI and SillyTavern send them."""
    off = dict(mirostat=0, mirostat_tau=5.0, mirostat_eta=0.1, typical_p=1.0, tfs_z=1.0)
    off.update(dry_multiplier=0.0, dry_base=1.75, dry_allowed_length=2, dry_penalty_last_n=-1)
    off.update(dry_sequence_breakers=["\n", ":"], top_n_sigma=-1, n_probs=0, min_keep=0)
    off.update(xtc_probability=0, xtc_threshold=0.1, repeat_last_n=64)
    req = parse_request({**CHAT, **off}, True, LIMITS)
    assert req.temperature == 0 and req.repetition_context_size == 64


def window(**body) -> int:
    return parse_request({**CHAT, **body}, True, LIMITS).repetition_context_size


def test_a_penalty_window_of_its_own_is_the_window_used():
    """`presence_context_size` (or `frequency_context_size`) with its penalty on and the
    repetition penalty off is that penalty's window, as mlx-lm's server reads it (it was
    dropped: 20, `repetition_context_size`'s default)."""
    assert window(presence_penalty=0.5, presence_context_size=64) == 64
    assert window(frequency_penalty=0.5, frequency_context_size=8, repetition_context_size=50) == 8
    both = dict(presence_penalty=1, frequency_penalty=1)
    assert window(**both, presence_context_size=32, frequency_context_size=32) == 32


CLASHES = [  # the body, the window named
    (dict(repetition_penalty=1.1, presence_penalty=0.5, presence_context_size=64), "presence"),
    (dict(repeat_penalty=1.1, repeat_last_n=64, frequency_penalty=1, frequency_context_size=20),
     "frequency"),
    (dict(presence_penalty=1, frequency_penalty=1, presence_context_size=8,
          frequency_context_size=16), "frequency"),
]  # fmt: skip


@pytest.mark.parametrize("body, which", CLASHES, ids=["rep", "llama.cpp", "two"])
def test_penalty_windows_that_differ_are_a_400(body, which):
    """Two penalties that are on with windows that differ (mlx-lm's server applies each its
    own; here one window serves all): they were taken, one of the windows silently replaced."""
    with pytest.raises(APIError) as info:
        window(**body)
    e, name = info.value, f"{which}_context_size"
    assert e.status == 400 and e.param == name and name in e.message, e.message


def test_penalty_windows_that_ask_nothing_are_taken():
    """A guard (passed before the fix): a window whose penalty is off, or one equal to the
    window in use, changes nothing; an unset one follows `repetition_context_size` (as
    documented before mlx-lm's server had windows of their own)."""
    assert window(presence_context_size=64, repetition_context_size=30) == 30
    assert window(repetition_penalty=1.1, presence_penalty=1, presence_context_size=20) == 20
    assert window(repetition_context_size=50, presence_penalty=1, frequency_penalty=1) == 50


@pytest.mark.parametrize("value", [0, 2.5, "20"])
def test_a_bad_penalty_window_is_a_400(value):
    """Checked as `repetition_context_size` is (it was not read at all)."""
    with pytest.raises(APIError) as info:
        window(presence_context_size=value)
    assert info.value.status == 400 and info.value.param == "presence_context_size"
