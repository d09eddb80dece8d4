"""``mlx_ifp serve``: a real uvicorn server on a free localhost port, driven by the openai client.

A tiny random llama with a word-level tokenizer (no chat template) serves in a thread; every
greedy answer is checked against ``mlx_ifp.stream_generate`` called directly.
"""

import asyncio
import contextlib
import http.client
import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import mlx_ifp
from mlx_ifp.serve.app import create_app
from mlx_ifp.serve.registry import Registry, StopFilter, read_tasks
from mlx_ifp.serve.scheduler import Job, Scheduler
from mlx_ifp.serve.schemas import Limits

import openai
import pytest
import uvicorn
from tiny import tiny_model

KEEP = 0.5
CODE = "t20 t21 t22 t23"


def word_tokenizer(vocab_size: int = 128):
    """Words ``t0 .. t{n-1}`` as tokens, eos ``t1``, no chat template."""
    from mlx_lm.tokenizer_utils import TokenizerWrapper
    from tokenizers import Tokenizer, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({f"t{i}": i for i in range(vocab_size)}, unk_token="t0"))
    tok.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    return TokenizerWrapper(PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="t1"))


class Server:
    """uvicorn serving ``app`` in a thread, on a socket bound to a free 127.0.0.1 port."""

    def __init__(self, app):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(app, log_level="warning", timeout_graceful_shutdown=2)
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self.sock]})
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            assert time.monotonic() < deadline and self.thread.is_alive(), "server did not start"
            time.sleep(0.02)

    def stop(self):
        self.server.should_exit = True
        self.thread.join(10)
        self.sock.close()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("serve")
    model, tok = tiny_model("llama"), word_tokenizer()
    mask = mlx_ifp.Pruner(model, tok, keep=0.25).slim_for("t9 t10 t11")[1].mask
    mask.save(tmp / "saved")
    (tmp / "tasks.yaml").write_text(f"code: {CODE}\nsaved: {{mask: saved}}\n")
    registry = Registry(
        model, tok, "tiny", keep=KEEP, tasks=read_tasks(tmp / "tasks.yaml"), cache_bytes=1e6
    )
    app = create_app(registry, Limits(max_body_bytes=4096, max_tokens_limit=300, timeout_s=30))
    server = Server(app)
    yield server, app, model, tok, mask
    server.stop()


@pytest.fixture
def client(served):
    return openai.OpenAI(base_url=served[0].url + "/v1", api_key="none", max_retries=0)


def reference(served, prompt, n, **kw):
    _, _, model, tok, _ = served
    kw = kw if "mask" in kw else {"keep": KEEP, **kw}  # (a mask fixes its own keep)
    return "".join(r.text for r in mlx_ifp.stream_generate(model, tok, prompt, n, **kw))


def is_openai_error(body) -> bool:
    """An error body in OpenAI's shape: ``{"error": {message, type, param, code}}``."""
    fields = {"message", "type", "param", "code"}
    return isinstance(body, dict) and set(body.get("error", {})) == fields


def post(url, body: bytes, path="/v1/chat/completions", method="POST"):
    """A raw request: (status, parsed JSON body)."""
    req = urllib.request.Request(url + path, data=body, method=method)
    req.add_header("Content-Type", "application/json")
    try:
        with urllib.request.urlopen(req, timeout=30) as r:
            return r.status, json.loads(r.read())
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read())


def test_models_list(client):
    ids = [m.id for m in client.models.list().data]
    assert ids == ["tiny", "tiny:code", "tiny:saved"]
    card = client.models.retrieve("tiny:saved").model_dump()
    assert card["mlx_ifp"]["mask"] == "file" and card["mlx_ifp"]["keep"] == 0.25


def test_chat_per_prompt_matches_library(served, client):
    messages = [{"role": "user", "content": "t5 t6 t7"}]
    want = reference(served, messages, 8)
    r = client.chat.completions.create(model="tiny", messages=messages, max_tokens=8)
    assert r.choices[0].message.content == want
    assert r.choices[0].finish_reason == "length"
    assert r.usage.prompt_tokens == 3 and r.usage.completion_tokens == 8
    ext = r.model_dump()["mlx_ifp"]
    assert ext["selection"] == "prompt" and ext["mask_source"] == "griffin"
    assert ext["keep"] == KEEP and 0 < ext["active_params"]
    chunks = list(
        client.chat.completions.create(
            model="tiny",
            messages=messages,
            max_tokens=8,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    assert chunks[0].choices[0].delta.role == "assistant"
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert text == want
    finals = [c for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finals[-1].choices[0].finish_reason == "length"
    assert finals[-1].model_dump()["mlx_ifp"]["cache_hit"]  # the same prompt again
    assert chunks[-1].usage.completion_tokens == 8 and not chunks[-1].choices


def test_per_prompt_requests_repick_when_the_server_does(served):
    """``serve --repick N``: per-prompt replies are what ``stream_generate(repick=N)`` gives;
    task requests keep their one mask."""
    _, _, model, tok, _ = served
    registry = Registry(model, tok, "tiny", keep=KEEP, tasks={"code": {"task": CODE}}, repick=2)
    server = Server(create_app(registry, Limits(max_tokens_limit=64, timeout_s=30)))
    try:
        c = openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0)
        messages = [{"role": "user", "content": "t5 t6 t7"}]
        r = c.chat.completions.create(model="tiny", messages=messages, max_tokens=8)
        assert r.choices[0].message.content == reference(served, messages, 8, repick=2)
        ext = r.model_dump()["mlx_ifp"]
        assert ext["repicks"] >= 3
        t = c.completions.create(model="tiny:code", prompt="t5 t6", max_tokens=4)
        assert "repicks" not in t.model_dump()["mlx_ifp"]
    finally:
        server.stop()
    with pytest.raises(mlx_ifp.UsageError, match="cannot re-pick"):
        Registry(model, tok, "tiny", keep=KEEP, mask_source="static", repick=2)


def test_completions_on_a_task(served, client):
    want = reference(served, "t40 t41 t42 t43", 10, task=CODE, chat_template=False)
    kw = dict(model="tiny:code", prompt="t40 t41 t42 t43", max_tokens=10, temperature=0)
    first = client.completions.create(**kw)
    assert first.choices[0].text == want and first.usage.completion_tokens == 10
    again = client.completions.create(**kw).model_dump()["mlx_ifp"]
    assert again["selection"] == "task:code" and again["cache_hit"]
    text = "".join(c.choices[0].text for c in client.completions.create(**kw, stream=True))
    assert text == want


def test_task_from_a_mask_file(served, client):
    mask = served[4]
    messages = [{"role": "user", "content": "t9 t8"}]
    want = reference(served, messages, 6, mask=mask)
    r = client.chat.completions.create(model="tiny:saved", messages=messages, max_tokens=6)
    assert r.choices[0].message.content == want
    ext = r.model_dump()["mlx_ifp"]
    assert ext["mask_source"] == "file" and ext["keep"] == 0.25


def test_stop_strings(served, client):
    messages = [{"role": "user", "content": "t5 t6 t7"}]
    want = reference(served, messages, 8)  # "t37 t37 t17 ..."
    stop = want.split()[2]
    r = client.chat.completions.create(model="tiny", messages=messages, max_tokens=8, stop=[stop])
    assert r.choices[0].message.content == want[: want.index(stop)]
    assert r.choices[0].finish_reason == "stop"
    f = StopFilter(["abc"])
    assert f.push("xya") == ("xy", False) and f.push("b") == ("", False)  # "ab" may start it
    assert f.push("cd") == ("", True)


def test_concurrent_requests_do_not_mix(served, client):
    cases = [
        ("tiny", "t5 t6 t7", {}),
        ("tiny:code", "t9 t8", {"task": CODE}),
        ("tiny:saved", "t40 t41", {"mask": served[4]}),
        ("tiny", "t9 t8", {}),
    ] * 2
    wants = [reference(served, [{"role": "user", "content": p}], 6, **kw) for _, p, kw in cases]
    got = [None] * len(cases)

    def ask(i):
        m, p, _ = cases[i]
        r = client.chat.completions.create(
            model=m, messages=[{"role": "user", "content": p}], max_tokens=6
        )
        got[i] = r.choices[0].message.content

    threads = [threading.Thread(target=ask, args=(i,)) for i in range(len(cases))]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert got == wants


CHAT = {"model": "tiny", "messages": [{"role": "user", "content": "t5"}]}


@pytest.mark.parametrize(
    "extra, status, param",
    [
        ({"temperature": -0.1}, 400, "temperature"),
        ({"top_p": -0.1}, 400, "top_p"),
        ({"top_p": 1.5}, 400, "top_p"),
        ({"max_tokens": 0}, 400, "max_tokens"),
        ({"max_tokens": 301}, 400, "max_tokens"),
        ({"n": 2}, 400, "n"),
        ({"max_tokens": "many"}, 400, "max_tokens"),
        ({"messages": []}, 400, "messages"),
        ({"messages": [{"role": "system", "content": "hi"}]}, 400, "messages"),
        ({"messages": [{"role": "wizard", "content": "t5"}]}, 400, "messages[0].role"),
        ({"stop": ["a", "b", "c", "d", "e"]}, 400, "stop"),
        ({"model": "other"}, 404, "model"),
        ({"model": "tiny:nope"}, 404, "model"),
    ],
)
def test_bad_requests_get_4xx(client, extra, status, param):
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(**{**CHAT, **extra})
    assert info.value.status_code == status
    err = info.value.body
    assert err["param"] == param and err["message"] and err["type"]


def test_raw_errors_have_openai_shape(served):
    url = served[0].url
    cases = [
        (post(url, b"{not json"), 400),
        (post(url, json.dumps({**CHAT, "pad": "x" * 5000}).encode()), 413),
        (post(url, b"[1, 2]"), 400),
        (post(url, json.dumps({"model": "tiny", "prompt": 5}).encode(), "/v1/completions"), 400),
        (post(url, b"{}", "/v1/nothing"), 404),
        (post(url, b"", "/v1/chat/completions", "GET"), 405),
        (post(url, b"", "/v1/models/other", "GET"), 404),
    ]
    for (status, body), want in cases:
        assert status == want, body
        assert set(body["error"]) == {"message", "type", "param", "code"}
        assert "Traceback" not in body["error"]["message"]


def slow(monkeypatch, registry, delay=0.02):
    original = registry.generate

    def generate(req, *check):
        for piece in original(req, *check):
            time.sleep(delay)
            yield piece

    monkeypatch.setattr(registry, "generate", generate)


def test_disconnect_cancels_generation(served, monkeypatch):
    server, app = served[0], served[1]
    slow(monkeypatch, app.state.registry)
    stats = app.state.scheduler.stats
    before = stats["cancelled"]
    body = json.dumps({**CHAT, "max_tokens": 300, "stream": True})
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("POST", "/v1/chat/completions", body, {"Content-Type": "application/json"})
    response = conn.getresponse()
    assert response.status == 200 and response.readline().startswith(b"data: ")
    conn.sock.shutdown(socket.SHUT_RDWR)
    conn.close()
    deadline = time.monotonic() + 5  # uncancelled, the 300 tokens would take over 6 s
    while stats["cancelled"] == before:
        assert time.monotonic() < deadline, stats
        time.sleep(0.05)


def test_timeout_is_a_504(served, client, monkeypatch):
    app = served[1]
    slow(monkeypatch, app.state.registry, delay=0.05)
    monkeypatch.setattr(app.state.limits, "timeout_s", 0.3)
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(**{**CHAT, "max_tokens": 100})
    assert info.value.status_code == 504 and info.value.body["code"] == "timeout"


def test_fair_queueing_round_robin():
    """A client with five queued jobs does not make another client's one job wait for all."""
    order = []

    async def main():
        loop = asyncio.get_running_loop()
        sched = Scheduler()

        def work(tag):
            return lambda: iter([order.append(tag)])

        jobs = [Job("a", work(f"a{i}"), loop) for i in range(5)] + [Job("b", work("b0"), loop)]
        for job in jobs:
            sched.submit(job)
        sched.start()
        for job in jobs:
            while (await job.queue.get())[0] != "done":
                pass
        await asyncio.to_thread(sched.close)

    asyncio.run(main())
    assert order.index("b0") == 1, order


def test_import_does_not_pull_the_web_stack():
    code = "import mlx_ifp, mlx_ifp.cli, sys; print(*(m in sys.modules for m in WEB))"
    code = code.replace("WEB", repr(("starlette", "uvicorn")))
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.stdout.split() == ["False", "False"], out.stderr


def test_example_tasks_file_parses():
    tasks = read_tasks(Path(__file__).resolve().parent.parent / "examples" / "serve_tasks.yaml")
    assert set(tasks) == {"code", "math", "geo"} and all("task" in t for t in tasks.values())


def test_command_refuses_bad_input(tmp_path):
    from mlx_ifp.cli import app

    from typer.testing import CliRunner

    runner = CliRunner()
    run = runner.invoke(app, ["serve", "--tasks", str(tmp_path / "missing.yaml")])
    assert run.exit_code == 2 and "tasks file not found" in run.output
    (tmp_path / "t.yaml").write_text("bad name!: text\n")
    run = runner.invoke(app, ["serve", "--tasks", str(tmp_path / "t.yaml")])
    assert run.exit_code == 2 and "task name" in run.output
    run = runner.invoke(app, ["serve", "--timeout", "0"])
    assert run.exit_code == 2


@contextlib.contextmanager
def real_server(*args: str):
    """`mlx_ifp serve ARGS` as a user starts it, on a free port; yields an openai client."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    env = {**os.environ, "OPENBLAS_NUM_THREADS": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "mlx_ifp", "serve", "--port", str(port), *args],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 300
        while True:
            assert proc.poll() is None, proc.stderr.read()
            assert time.monotonic() < deadline, "the server did not come up"
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2)
                break
            except OSError:
                time.sleep(0.5)
        yield openai.OpenAI(base_url=f"http://127.0.0.1:{port}/v1", api_key="x", max_retries=0)
    finally:
        proc.terminate()
        proc.wait(30)


@pytest.mark.real
def test_real_server_at_keep_033_uses_the_predictor_trained_for_it(smollm2_dir):
    with real_server("--keep", "0.33") as client:
        r = client.chat.completions.create(
            model="smollm2-135m-instruct",
            messages=[{"role": "user", "content": "Solve 12 * 7."}],
            max_tokens=4,
            temperature=0,
        )
    info = r.model_dump()["mlx_ifp"]
    assert info["k"] == 507 and info["mask_source"].endswith("smollm2-135m-instruct-k0.33)"), info


@pytest.mark.real
def test_real_model_answers_paris(smollm2_dir, tmp_path):
    """`mlx_ifp serve` as a user starts it, with the real model, chat-completed by openai."""
    (tmp_path / "tasks.yaml").write_text("geo: Answer geography questions.\n")
    with real_server("--keep", "1.0", "--tasks", str(tmp_path / "tasks.yaml")) as client:
        for model in ("smollm2-135m-instruct", "smollm2-135m-instruct:geo"):
            r = client.chat.completions.create(
                model=model,
                messages=[{"role": "user", "content": "What is the capital of France?"}],
                max_tokens=20,
                temperature=0,
            )
            assert "Paris" in r.choices[0].message.content, r
            assert r.model_dump()["mlx_ifp"]["keep"] == 1.0
