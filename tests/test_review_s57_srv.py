"""Review (s57) of ``mlx_ifp serve`` as an OpenAI / llama.cpp user would drive it.

A server stopped with a second Ctrl-C, the "force quit" uvicorn offers while it waits for an
open request ("Waiting for connections to close. (CTRL+C to force quit)"), printed a 30-line
traceback (a ``KeyboardInterrupt``, then the ``CancelledError`` asyncio's teardown threw into
the app's lifespan, which Starlette logs as "lifespan.shutdown.failed"): uvicorn skips the
lifespan's shutdown on a forced quit, so the app's lifespan was cancelled instead. That
failed before the fix; now the forced quit is quiet, the worker is still stopped and the
stream still ends with the shutting-down error event and ``[DONE]``.

``GET /v1/health``, which llama.cpp's server answers as ``/health`` (open without the API key,
as there), for clients whose base URL ends in ``/v1`` and that probe ``{base}/health``: a 404
before (a 401 with ``--api-key``), now ``/health``'s answer.

For the forced quit, the server runs as ``mlx_ifp serve`` runs it (``uvicorn.run`` in the
main thread, where uvicorn handles signals) in a subprocess, on the tiny llama with a reply a
piece every 30 ms.
"""

import http.client
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

TESTS = Path(__file__).parent

SERVER = """
import sys, time
import mlx_ifp
from mlx_ifp.serve.app import create_app
from mlx_ifp.serve.registry import Registry
from mlx_ifp.serve.schemas import Limits
import uvicorn
from test_serve import KEEP, word_tokenizer
from tiny import tiny_model

registry = Registry(tiny_model("llama"), word_tokenizer(), "tiny", keep=KEEP, cache_bytes=1e6)
original = registry.generate

def slow(req, *check):
    for piece in original(req, *check):
        time.sleep(0.03)
        yield piece

registry.generate = slow
app = create_app(registry, Limits(max_tokens_limit=1000, timeout_s=60))
uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), timeout_graceful_shutdown=5)
print("stopped", app.state.scheduler.stats, file=sys.stderr)
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start(port: int) -> subprocess.Popen:
    path = os.pathsep.join([str(TESTS.parent), str(TESTS), os.environ.get("PYTHONPATH", "")])
    env = {**os.environ, "PYTHONPATH": path}
    server = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(port)], env=env, stderr=subprocess.PIPE, text=True
    )
    deadline = time.monotonic() + 60
    while True:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/health")
            conn.getresponse().read()
            return server
        except OSError:
            if server.poll() is not None or time.monotonic() > deadline:
                server.kill()
                raise AssertionError(f"no server: {server.communicate()[1]}") from None
            time.sleep(0.2)


def test_a_second_ctrl_c_while_a_stream_is_open_quits_without_a_traceback():
    port = free_port()
    server = start(port)
    try:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        body = {"messages": [{"role": "user", "content": "t5 t6"}], "max_tokens": 1000}
        conn.request("POST", "/v1/chat/completions", json.dumps({**body, "stream": True}))
        response = conn.getresponse()
        assert response.status == 200 and response.readline().startswith(b"data: ")
        server.send_signal(signal.SIGINT)  # "Waiting for connections to close" (5 s of grace)
        time.sleep(1)
        t0 = time.monotonic()
        server.send_signal(signal.SIGINT)  # the force quit uvicorn offers
        raw = response.read().decode()
        _, log = server.communicate(timeout=30)
        took = time.monotonic() - t0
    finally:
        server.kill()
    assert "Traceback" not in log and "Error" not in log, log  # before: two tracebacks
    assert "'cancelled': 1" in log and "'running': 0" in log, log  # the worker was stopped
    assert took < 4, f"the forced quit took {took:.1f} s"  # not the 5 s of grace
    events = [e for e in raw.split("\n\n") if e.startswith("data: ")]
    assert events[-1] == "data: [DONE]" and '"code": "busy"' in events[-2], raw[-300:]


def test_v1_health_is_answered_as_health_and_open_without_the_key():
    from mlx_ifp.serve.app import create_app
    from mlx_ifp.serve.registry import Registry

    from starlette.testclient import TestClient
    from test_serve import KEEP, word_tokenizer
    from tiny import tiny_model

    registry = Registry(tiny_model("llama"), word_tokenizer(), "tiny", keep=KEEP, cache_bytes=1e6)
    for keys in ((), ["k1"]):
        with TestClient(create_app(registry, api_keys=keys)) as client:
            want = client.get("/health")
            got = client.get("/v1/health")  # before: 404 Invalid URL (401 with a key)
            assert got.status_code == want.status_code == 200, got.text
            assert got.json() == want.json() and got.json()["status"] == "ok"
            assert client.post("/v1/health").status_code == 405  # a GET, as /health
