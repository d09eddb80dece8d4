"""Forty-fourth session review of ``mlx_ifp serve``: a stream open when the server stops, and a
request's ``seed`` leaking into the replies of later requests that gave none.

Same pattern as ``test_serve``: a tiny random llama with a word-level tokenizer, served by a
real uvicorn in a thread (``timeout_graceful_shutdown`` 2 s), driven with raw HTTP requests.
"""

import asyncio
import http.client
import json
import threading
import time

from mlx_ifp.serve.app import Completions
from mlx_ifp.serve.registry import Piece, Registry
from mlx_ifp.serve.scheduler import Job
from mlx_ifp.serve.schemas import Limits, parse_request

import mlx.core as mx
from test_serve import KEEP, word_tokenizer
from tiny import tiny_model

CHAT = {"model": "tiny", "messages": [{"role": "user", "content": "t5 t6 t7"}]}


def sse_events(raw: bytes) -> list:
    """The ``data:`` payloads of a server-sent event body (``[DONE]`` as the string)."""
    out = []
    for block in raw.decode().split("\n\n"):
        if block.startswith("data: "):
            data = block[len("data: ") :]
            out.append(data if data == "[DONE]" else json.loads(data))
    return out


def test_a_stream_open_when_the_server_stops_ends_with_an_error_event_and_done():
    """uvicorn stops a server by waiting ``timeout_graceful_shutdown`` for open requests, then
    cancelling their tasks. A non-streamed request is answered 503 ``busy`` then (docs/serve.md:
    "each is answered 503 busy"); a streamed one was cancelled inside starlette's task group,
    which cancels every later send: the body was cut off mid-chunk (``IncompleteRead``, the
    openai client's "peer closed connection without sending complete message body") and the
    log had uvicorn's ``Exception in ASGI application`` and a CancelledError traceback."""
    from test_review_s33_serve import slow_server

    _, server = slow_server()
    try:
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
        body = json.dumps({**CHAT, "max_tokens": 300, "stream": True})
        conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
        response = conn.getresponse()
        assert response.status == 200 and response.readline().startswith(b"data: ")
        stopper = threading.Thread(target=server.stop)
        stopper.start()  # the 300 tokens take ~9 s: the 2 s grace period ends first
        raw = response.read()  # before: http.client.IncompleteRead
        stopper.join(30)
    finally:
        server.stop()
    events = sse_events(raw)
    assert events[-1] == "[DONE]", raw[-200:]
    error = events[-2]["error"]
    assert error["code"] == "busy" and "shutting down" in error["message"]
    assert all("choices" in e for e in events[:-2])  # the text streamed until then


def test_a_reply_the_worker_dropped_is_not_answered_as_complete():
    """A job that ends ("done") before its last piece was dropped by the worker: the server's
    shutdown cancels the job it runs. When uvicorn's cancellation of the request was lost
    (Python 3.11's ``wait_for`` returns a result that is ready as the cancel comes), the
    non-streamed answer was a 200 with the text so far, ``finish_reason: "stop"`` and zero
    usage, and a stream ended on ``[DONE]`` with no finish reason; now both are the
    shutting-down error (503 ``busy``; the error event in a stream)."""

    async def answer(stream: bool):
        req = parse_request({**CHAT, "stream": stream}, True, Limits())
        job = Job("client", lambda: iter(()), asyncio.get_running_loop())
        job.queue.put_nowait(("done", None))
        completions = Completions(None, None, Limits())
        if not stream:
            return await completions._whole(req, job, Piece("t5"), time.monotonic() + 30)
        return [e async for e in completions._sse(req, job, Piece("t5"), time.monotonic() + 30)]

    response = asyncio.run(answer(stream=False))
    assert response.status_code == 503, response.body
    assert json.loads(response.body)["error"]["code"] == "busy"
    events = sse_events("".join(asyncio.run(answer(stream=True))).encode())
    assert events[-1] == "[DONE]" and events[-2]["error"]["code"] == "busy", events


def test_a_seeded_request_does_not_fix_the_draws_of_later_unseeded_ones():
    """``seed`` reseeded MLX's global random state and left it there: every request without a
    seed after a seeded one drew the same numbers, so one client sending ``seed`` made another
    client's ``temperature: 1`` replies the same each time they followed it. A seed is now the
    request's own: the state is put back after it, and an unseeded reply is the one it would
    have been without the seeded request before it."""
    registry = Registry(tiny_model("llama"), word_tokenizer(), "tiny", keep=KEEP, cache_bytes=1e6)
    limits = Limits()

    def reply(**extra) -> str:
        body = {**CHAT, "max_tokens": 12, "temperature": 1.0, **extra}
        return "".join(p.text for p in registry.generate(parse_request(body, True, limits)))

    reply()  # the mask and slim model made once
    mx.random.seed(123)
    alone = reply()
    mx.random.seed(123)
    seeded = reply(seed=7)
    after = reply()  # before: the draws that follow seed 7, whatever came before
    assert after == alone
    assert reply(seed=7) == seeded  # a seed still gives the same reply
    unseeded = [reply()]
    for _ in range(2):
        reply(seed=7)
        unseeded.append(reply())
    assert len(set(unseeded)) > 1, unseeded  # before: three times the same "random" reply
