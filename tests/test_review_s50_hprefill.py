"""Review (s50): a request cancelled while its prompt is prefilled.

`mlx_ifp serve` noticed a client gone (or a request timed out) only between reply tokens, so
a long prompt was **prefilled to the end, and its first token computed, for nobody**, while
the next request waited on the single worker. mlx-lm calls ``prompt_progress_callback``
between its prefill chunks, but the prompt of a per-prompt GRIFFIN mask runs through the
dense model (``Pruner.prefill``, ``dense_prefill``) and a re-picked mask's first user turn
through its own dense pass (``Running.feed``), neither of which reported anything until the
whole prompt had run. Now those passes call the progress callback between their chunks too,
and the server's callback raises once the job is cancelled: the worker stops after the chunk
in flight, counts the request cancelled (no "generation failed" traceback in the log), and
serves the next request.

Chunks are counted by wrapping the tiny llama's decoder stack (calls of more than one token);
the "client" goes away during the first chunk. Every test here but the guard (said in its
docstring) fails on the code it was written against: all the prompt's chunks ran.
"""

import functools
import http.client
import json
import logging
import socket
import threading
import time

import mlx_ifp
from mlx_ifp.serve.app import create_app
from mlx_ifp.serve.registry import Registry
from mlx_ifp.serve.schemas import Limits

import pytest
from mlx_lm.models.llama import LlamaModel
from test_serve import KEEP, Server, word_tokenizer
from tiny import tiny_model

STEP = 8  # prefill_step_size: the prompt (51 tokens) runs in 7 chunks
PROMPT = " ".join(f"t{5 + i % 90}" for i in range(41))


class Gone(Exception):
    """What the caller's progress callback raises once it no longer wants the reply."""


@pytest.fixture
def chunks(monkeypatch):
    """Counts the prompt chunks (decoder calls of more than one token) the model runs;
    ``on_first`` (if set) runs inside the first one."""
    seen = {"n": 0, "on_first": None}
    original = LlamaModel.__call__

    def counted(self, inputs, *args, **kwargs):
        if inputs.shape[-1] > 1:
            seen["n"] += 1
            if seen["n"] == 1 and seen["on_first"] is not None:
                seen["on_first"]()
        return original(self, inputs, *args, **kwargs)

    monkeypatch.setattr(LlamaModel, "__call__", counted)
    return seen


def reply(model, tok, **kw) -> str:
    kw = {"keep": KEEP, "chat_template": False, "prefill_step_size": STEP, **kw}
    return "".join(r.text for r in mlx_ifp.stream_generate(model, tok, PROMPT, 4, **kw))


@pytest.mark.parametrize(
    "how",
    [
        {},  # per-prompt GRIFFIN: the prompt's dense pass picks the mask (Pruner.prefill)
        {"task": "t3 t4 t5", "prefill": "dense"},  # a task's mask, the prompt run dense
        {"repick": 4},  # re-picked: the first user turn's own dense pass (Running.feed)
    ],
    ids=["per-prompt-dense", "task-dense", "repick"],
)
def test_a_progress_callback_that_raises_stops_the_prefill_between_chunks(chunks, how):
    """The callback was first called again only after every dense chunk had run."""
    model, tok = tiny_model("llama"), word_tokenizer()
    expected = reply(model, tok, **how)
    assert chunks["n"] >= 5  # (the prompt does take several chunks)
    gone = threading.Event()
    chunks["n"], chunks["on_first"] = 0, gone.set

    def progress(done, total):
        if gone.is_set():
            raise Gone

    with pytest.raises(Gone):
        reply(model, tok, prompt_progress_callback=progress, **how)
    assert chunks["n"] == 1, f"{chunks['n']} prompt chunks ran after the caller had gone"
    chunks["on_first"] = None  # the model is left as it was: the same reply as before
    assert reply(model, tok, **how) == expected


def test_mlx_lms_own_prefill_already_stopped_between_chunks(chunks):
    """Guard: a slim prefill is mlx-lm's, which calls the callback between its chunks."""
    model, tok = tiny_model("llama"), word_tokenizer()
    gone = threading.Event()
    chunks["on_first"] = gone.set

    def progress(done, total):
        if gone.is_set():
            raise Gone

    with pytest.raises(Gone):
        reply(model, tok, mask_source="random", prefill="slim", prompt_progress_callback=progress)
    assert chunks["n"] == 1


def gone_in_the_first_chunk(server, scheduler, chunks, body: dict, what: str) -> None:
    """Stream ``body`` from ``server``, close the connection once the worker is in its first
    chunk (``chunks["n"]``), and wait until the scheduler has counted the job cancelled."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("POST", "/v1/completions", json.dumps(body), {"Content-Type": "application/json"})
    deadline = time.monotonic() + 10
    while chunks["n"] == 0:  # the worker is in the first chunk
        assert time.monotonic() < deadline, f"{what} did not start"
        time.sleep(0.01)
    conn.sock.shutdown(socket.SHUT_RDWR)
    conn.close()
    while scheduler.counts()["cancelled"] == 0:
        assert time.monotonic() < deadline, scheduler.counts()
        time.sleep(0.01)


def test_a_client_gone_during_the_prefill_stops_it_and_frees_the_worker(
    chunks, monkeypatch, caplog
):
    """The server ran every chunk of the dense prefill (and the first token) after the client
    had closed the connection; now it stops after the chunk in flight, without a traceback."""
    chunked = functools.partial(mlx_ifp.stream_generate, prefill_step_size=STEP)
    monkeypatch.setattr(mlx_ifp, "stream_generate", chunked)
    registry = Registry(tiny_model("llama"), word_tokenizer(), "tiny", keep=KEEP, cache_bytes=1e6)
    app = create_app(registry, Limits(max_tokens_limit=300, timeout_s=60))
    scheduler = app.state.scheduler

    def wait_for_the_cancel():  # the worker, in the first chunk, until the client has gone
        assert scheduler._current.cancelled.wait(10), "the disconnect was not seen"

    chunks["on_first"] = wait_for_the_cancel
    server = Server(app)
    try:
        with caplog.at_level(logging.ERROR, logger="mlx_ifp.serve"):
            body = {"model": "tiny", "prompt": PROMPT, "max_tokens": 5, "stream": True}
            gone_in_the_first_chunk(server, scheduler, chunks, body, "the prefill")
            assert chunks["n"] == 1, f"{chunks['n']} prompt chunks ran for a client gone"
            chunks["on_first"] = None
            conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
            short = {"model": "tiny", "prompt": "t5 t6 t7", "max_tokens": 3}
            conn.request("POST", "/v1/completions", json.dumps(short),
                         {"Content-Type": "application/json"})  # fmt: skip
            answer = conn.getresponse()
            assert answer.status == 200, answer.read()
            assert json.loads(answer.read())["choices"][0]["text"] is not None
        deadline = time.monotonic() + 10  # the job is counted done just after its reply is sent
        while scheduler.counts()["done"] == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        counts = scheduler.counts()
        assert counts["failed"] == 0 and counts["cancelled"] == 1 and counts["done"] == 1
        assert not [r for r in caplog.records if r.name == "mlx_ifp.serve"], caplog.text
    finally:
        server.stop()
