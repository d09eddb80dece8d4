"""Review of ``mlx_ifp serve`` (session 33): shutdown with a generation in flight, the
unlocked queue count behind ``/health``, ``--cache-gb inf``, the unlisted model id
``"tiny:"``, and values the request schema lets through that the generator then refuses.

Same pattern as ``test_serve``: a tiny random llama with a word-level tokenizer, served by a
real uvicorn in a thread, driven with raw HTTP requests.
"""

import asyncio
import json
import sys
import threading
import time

import mlx_ifp
from mlx_ifp.serve.app import create_app
from mlx_ifp.serve.registry import Registry
from mlx_ifp.serve.scheduler import Job, Scheduler
from mlx_ifp.serve.schemas import Limits

import pytest
import test_serve_edges
from test_serve import KEEP, Server, is_openai_error, post, word_tokenizer
from test_serve_edges import CHAT
from tiny import tiny_model

server = test_serve_edges.server  # the same tiny model behind a real uvicorn

# ------------------------------------------------------------------------------- shutdown


def slow_server():
    """(app, running ``Server``) over a tiny model whose replies come a piece every 30 ms."""
    model, tok = tiny_model("llama"), word_tokenizer()
    registry = Registry(model, tok, "tiny", keep=KEEP, cache_bytes=1e6)
    original = registry.generate

    def slow(req, *check):
        for piece in original(req, *check):
            time.sleep(0.03)
            yield piece

    registry.generate = slow
    app = create_app(registry, Limits(max_tokens_limit=300, timeout_s=60))
    return app, Server(app)


def test_shutdown_does_not_wait_for_a_cancelled_non_streamed_generation():
    """uvicorn stops a server by waiting ``timeout_graceful_shutdown`` (2 s here) for open
    requests, then cancelling their tasks, then running the lifespan's shutdown. A cancelled
    streamed request cancels its job (``_sse``'s ``finally``), but a cancelled non-streamed one
    does not (``_serve``'s ``finally`` only stops the disconnect watcher), and
    ``Scheduler.close`` joins the worker, which runs that orphaned job to its last token: the
    server took the whole generation (~9 s here; minutes for a real model at max_tokens 2048)
    to stop, for an answer nobody would read."""
    app, server = slow_server()
    stats = app.state.scheduler.stats
    body = json.dumps({**CHAT, "max_tokens": 300}).encode()
    asker = threading.Thread(target=lambda: _quietly(post, server.url, body), daemon=True)
    asker.start()
    deadline = time.monotonic() + 10
    while stats["running"] != 1:  # the generation is under way
        assert time.monotonic() < deadline, stats
        time.sleep(0.01)
    time.sleep(0.3)
    t0 = time.monotonic()
    server.server.should_exit = True
    server.thread.join(6)  # 2 s of grace, then the job is cancelled at its next token
    took = time.monotonic() - t0
    stopped = not server.thread.is_alive()
    server.thread.join(30)
    server.sock.close()
    assert stopped, f"the server was still stopping after {took:.1f} s: {stats}"
    assert stats["cancelled"] == 1 and stats["done"] == 0, stats


def _quietly(fn, *args):
    try:
        fn(*args)
    except Exception:  # the server goes away under it: whatever the client sees is fine
        pass


# ---------------------------------------------------------------- the queue count (/health)


def test_the_queue_count_is_safe_while_the_worker_takes_jobs():
    """``Scheduler.pending`` (what ``GET /health`` reports as ``queued``, and what ``submit``
    reads under the lock) walks the per-client OrderedDict without the lock, on the event
    loop's thread, while the worker thread deletes and re-inserts clients in ``_next``:
    "RuntimeError: OrderedDict mutated during iteration", a 500 from ``/health`` under load."""
    loop = asyncio.new_event_loop()
    sched = Scheduler(max_queue=10**9)
    for i in range(2000):  # many clients, each with one queued job
        sched.submit(Job(f"client{i}", lambda: iter(()), loop))
    stop = threading.Event()

    def worker_side():  # what the worker does per job: take the next client's job (and more)
        while not stop.is_set():
            sched.submit(sched._next())

    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)
    churn = threading.Thread(target=worker_side)
    churn.start()
    errors = []
    try:
        deadline = time.monotonic() + 2
        while time.monotonic() < deadline and not errors:
            try:
                assert 1998 <= sched.pending() <= 2000
            except RuntimeError as e:
                errors.append(e)
    finally:
        stop.set()
        churn.join(10)
        sys.setswitchinterval(interval)
        loop.close()
    assert not errors, errors[0]


# ------------------------------------------------------------------------------ the command


@pytest.mark.parametrize("value", ["inf", "nan"])
def test_serve_with_a_non_finite_cache_budget_is_not_a_traceback(monkeypatch, value):
    """``--cache-gb inf`` (an unlimited budget) passes the CLI's ``cache_gb < 0`` check, and
    the registry's ``int(cache_bytes // slot_bytes)`` is ``int(nan)``: a ValueError traceback
    (exit 1) after the model has loaded. It should serve (inf: every slot, up to the cap) or
    be refused as one ``Error:`` line with exit code 2 (nan)."""
    from mlx_ifp.cli import app

    import uvicorn
    from typer.testing import CliRunner

    served = []
    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: (tiny_model("llama"), word_tokenizer()))
    monkeypatch.setattr(uvicorn, "run", lambda *a, **k: served.append(a))
    args = ["serve", "--mask-source", "griffin", "--cache-gb", value]
    run = CliRunner().invoke(app, args)
    assert not isinstance(run.exception, ValueError), (run.output, repr(run.exception))
    if value == "nan":
        assert run.exit_code == 2 and "--cache-gb" in run.output and not served, run.output
    else:
        assert run.exit_code in (0, 2), (run.output, repr(run.exception))


# ------------------------------------------------------------------------------- model ids


def test_an_id_that_is_not_listed_is_a_404(server):
    """``/v1/models`` lists ``tiny`` (and ``tiny:TASK`` ids), yet ``GET /v1/models/tiny:`` answers
    200 with a card for the id ``"tiny:"``, and completions for model ``"tiny:"`` are served
    (echoing ``"model": "tiny:"``): ``Registry.resolve`` reads an empty task name as the base
    model. OpenAI, llama.cpp and mlx-lm answer an id that is not theirs with a 404."""
    status, listing = post(server.url, b"", "/v1/models", "GET")
    assert status == 200 and "tiny:" not in [m["id"] for m in listing["data"]]
    status, card = post(server.url, b"", "/v1/models/tiny:", "GET")
    assert status == 404 and is_openai_error(card), card
    status, body = post(server.url, json.dumps({**CHAT, "model": "tiny:"}).encode())
    assert status == 404 and is_openai_error(body), body
    assert body["error"]["param"] == "model"


# --------------------------------------------- values the schema accepts, the generator not


@pytest.mark.parametrize("name, value", [("temperature", 1e-31), ("repetition_penalty", 1e-31)])
def test_a_value_the_generator_refuses_is_refused_up_front_with_its_param(server, name, value):
    """The schema takes ``temperature`` in [0, 2] and ``repetition_penalty`` > 0 (as
    docs/serve.md says); the library refuses values in (0, 1e-30) (``sampling.TINY``). Such a
    request is queued, waits for every generation ahead of it, then fails on the worker: a 400
    with ``param: null`` and a message about mlx_ifp's own ``temp``, not the request's
    ``temperature``. It should be refused at parse time, naming the request's field."""
    status, body = post(server.url, json.dumps({**CHAT, name: value}).encode())
    assert status == 400 and is_openai_error(body), body
    assert body["error"]["param"] == name, body
