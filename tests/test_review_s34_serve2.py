"""Review of ``mlx_ifp serve`` (session 34, second pass): the tasks YAML (texts that are not
paths, non-UTF-8 files, YAML 1.1 keys, duplicates, a mistyped mask path), the queue under
load (requests gone while queued, 503's Retry-After), and start-up failures (port in use, a
host that does not resolve) as one-line errors.

Same pattern as ``test_serve``: a tiny random llama with a word-level tokenizer.
"""

import asyncio
import json
import socket
import threading

import mlx_ifp
from mlx_ifp import UsageError
from mlx_ifp.serve.app import create_app
from mlx_ifp.serve.registry import Registry, read_tasks
from mlx_ifp.serve.scheduler import Job, QueueFull, Scheduler
from mlx_ifp.serve.schemas import Limits

import pytest
from test_serve import KEEP, Server, word_tokenizer
from test_serve_edges import CHAT
from tiny import tiny_model

# ----------------------------------------------------------------------------- tasks YAML


def _tasks(tmp_path, text: str | bytes) -> dict:
    path = tmp_path / "tasks.yaml"
    path.write_bytes(text if isinstance(text, bytes) else text.encode())
    return read_tasks(path)


def test_a_long_task_text_is_a_task_not_an_oserror(tmp_path):
    """A task text is first tried as a mask path; one word of over 255 bytes (a path component
    too long for the file system) made ``Path.is_file`` raise ``OSError: File name too long``:
    a traceback at start-up for a plain task text."""
    text = "x" * 300
    assert _tasks(tmp_path, f"geo: {text}\n") == {"geo": {"task": text}}


def test_a_task_text_starting_with_a_tilde_is_a_task(tmp_path):
    """``~approximately ...`` was expanded as a home directory: ``RuntimeError: Could not
    determine home directory``."""
    text = "~approximately answer questions about rivers"
    assert _tasks(tmp_path, f"geo: {text}\n") == {"geo": {"task": text}}


def test_a_non_utf8_tasks_file_is_a_usage_error(tmp_path):
    """A Latin-1 file was a ``UnicodeDecodeError`` traceback."""
    with pytest.raises(UsageError, match="UTF-8"):
        _tasks(tmp_path, b"geo: caf\xe9 au lait\n")


@pytest.mark.parametrize("key", ["yes", "no", "on", "~", "1.10", "null"])
def test_a_name_yaml_reads_as_another_type_is_refused(tmp_path, key):
    """YAML 1.1 reads ``yes:``/``no:``/``on:`` as booleans, ``~:`` as null and ``1.10:`` as a
    float: the tasks were silently served as ``tiny:True``, ``tiny:False``, ``tiny:None``,
    ``tiny:1.1``, never the name written."""
    with pytest.raises(UsageError, match="quote"):
        _tasks(tmp_path, f"{key}: some task text\n")


def test_a_duplicate_task_name_is_refused(tmp_path):
    """The YAML loader keeps the last of two equal keys: the first task vanished silently."""
    with pytest.raises(UsageError, match="geo"):
        _tasks(tmp_path, "geo: rivers and capitals\ncode: python\ngeo: mountains\n")


def test_a_task_name_with_a_trailing_newline_is_refused(tmp_path):
    """``re.match(r"...$")`` accepts a name ending in a newline (``$`` matches before it)."""
    with pytest.raises(UsageError, match="task name"):
        _tasks(tmp_path, '"geo\\n": rivers\n')


def test_the_explicit_task_form_is_never_read_as_a_mask_file(tmp_path):
    """``{task: TEXT}`` says the value is a task text; it became a mask when a file of that
    name happened to sit next to the YAML."""
    (tmp_path / "saved.safetensors").write_bytes(b"x")
    assert _tasks(tmp_path, "geo: {task: saved}\n") == {"geo": {"task": "saved"}}


@pytest.mark.parametrize("value", ["masks/legal.safetensors", "legal.safetensors", "m.json"])
def test_a_missing_mask_file_is_not_served_as_a_task_text(tmp_path, value):
    """A mistyped or missing mask path silently became the task text
    ``"masks/legal.safetensors"``: the server answered with a mask picked from a file name."""
    with pytest.raises(UsageError, match="not found"):
        _tasks(tmp_path, f"legal: {value}\n")


def test_blank_example_prompts_are_refused_at_start_up(tmp_path):
    """Examples of only spaces were accepted, and every request for the task was a 400
    ("cannot select channels for an empty text") from then on."""
    with pytest.raises(UsageError, match="legal"):
        _tasks(tmp_path, "legal: [' ', 'contracts']\n")


# --------------------------------------------------------------------------------- queue


def test_requests_gone_while_queued_free_their_place():
    """A client that disconnects (or times out) while queued cancels its job, but the job kept
    its place in the queue until the worker reached it: behind one long generation, a few
    abandoned requests made the server answer every new one 503 "busy", and ``/health``
    counted them as queued."""

    async def main():
        loop = asyncio.get_running_loop()
        sched = Scheduler(max_queue=2)
        release, started = threading.Event(), threading.Event()

        def long_job():
            started.set()
            release.wait(30)
            yield "x"

        running = sched.submit(Job("a", long_job, loop))
        sched.start()
        await asyncio.to_thread(started.wait, 30)
        queued = [sched.submit(Job(c, lambda: iter(["y"]), loop)) for c in "bc"]
        for job in queued:
            job.cancel()  # what the app does on a disconnect or a timeout
        try:
            assert sched.pending() == 0
            sched.submit(Job("d", lambda: iter(["z"]), loop))  # not QueueFull
        finally:
            release.set()
            await asyncio.to_thread(sched.close)
        assert running.started.is_set()

    asyncio.run(main())


def test_a_full_queue_answers_503_with_retry_after():
    """A 503 "busy" is the server's load, not the request's fault: clients (and the openai
    package's retries) read ``Retry-After``; it was missing."""
    import urllib.error
    import urllib.request

    model, tok = tiny_model("llama"), word_tokenizer()
    registry = Registry(model, tok, "tiny", keep=KEEP, cache_bytes=1e6)
    app = create_app(registry, Limits(max_tokens_limit=64, timeout_s=30, max_queue=1))
    server = Server(app)
    original = app.state.scheduler.submit

    def full(job):
        raise QueueFull("1 requests are already queued")

    app.state.scheduler.submit = full
    try:
        req = urllib.request.Request(server.url + "/v1/chat/completions", json.dumps(CHAT).encode())
        req.add_header("Content-Type", "application/json")
        with pytest.raises(urllib.error.HTTPError) as e:
            urllib.request.urlopen(req, timeout=30)
        assert e.value.code == 503
        assert e.value.headers.get("Retry-After", "").isdigit(), dict(e.value.headers)
    finally:
        app.state.scheduler.submit = original
        server.stop()


# ------------------------------------------------------------------------------ start-up


def _serve(monkeypatch, *args):
    from mlx_ifp.cli import app

    import uvicorn
    from typer.testing import CliRunner

    loads = []

    def load(*a, **k):
        loads.append(a)
        return tiny_model("llama"), word_tokenizer()

    def never_serve(self, *a, **k):
        raise AssertionError("the server started")

    monkeypatch.setattr(mlx_ifp, "load", load)
    monkeypatch.setattr(uvicorn.Server, "run", never_serve)
    run = CliRunner().invoke(app, ["serve", "--mask-source", "griffin", *args])
    return run, loads


def test_a_port_in_use_is_one_line_and_exit_2_before_loading(monkeypatch):
    """A port already taken: the model loaded, "Serving ... on http://..." was printed, then
    uvicorn's own ERROR lines and exit code 3."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen()
    try:
        run, loads = _serve(monkeypatch, "--port", str(sock.getsockname()[1]))
    finally:
        sock.close()
    assert run.exit_code == 2, (run.output, run.exception)
    assert "in use" in run.output and "Serving" not in run.output, run.output
    assert not loads  # refused before the model loads


def test_a_host_that_does_not_resolve_is_one_line_and_exit_2(monkeypatch):
    run, loads = _serve(monkeypatch, "--host", "no-such-host.invalid", "--port", "8080")
    assert run.exit_code == 2 and "--host" in run.output, (run.output, run.exception)
    assert not loads


# ----------------------------------------------------------------------------- mask files


def _saved_mask(model, tok, folder) -> str:
    mask = mlx_ifp.Pruner(model, tok, keep=0.25).slim_for("t9 t10 t11")[1].mask
    return str(mask.save(folder / "legal"))


def test_a_mask_file_for_another_model_names_its_task(tmp_path):
    """The error said "mask belongs to another model (...)" without naming the task or the
    file: with several mask tasks, the user could not tell which one is wrong."""
    tok = word_tokenizer()
    path = _saved_mask(tiny_model("llama", intermediate_size=64), tok, tmp_path)
    with pytest.raises(UsageError, match="legal"):
        Registry(tiny_model("llama"), tok, "tiny", tasks={"legal": {"mask": path}})


def test_models_do_not_send_the_server_s_mask_path(tmp_path):
    """``/v1/models`` sent the mask file's full path on the server (the home folder, the
    user name), where the mask source of an answer is sent without its folder."""
    model, tok = tiny_model("llama"), word_tokenizer()
    path = _saved_mask(model, tok, tmp_path)
    registry = Registry(model, tok, "tiny", tasks={"legal": {"mask": path}}, cache_bytes=1e6)
    card = registry.describe("tiny:legal")
    assert card["mask"] == "file" and str(tmp_path) not in json.dumps(card), card
    assert card["path"] == "legal.safetensors"


def test_a_cached_task_of_many_examples_is_not_encoded_again():
    """A task given as a list of example prompts: every request for it, cache hits included,
    tokenized the whole list again (20,000 examples: 0.36 s a request on the tiny model against
    0.005 s for a one-line task; far more with a real chat template)."""
    from mlx_ifp.serve.schemas import GenRequest

    model, tok = tiny_model("llama"), word_tokenizer()
    examples = [f"t{i + 2} t{i + 3} t9" for i in range(50)]
    registry = Registry(model, tok, "tiny", tasks={"big": {"task": examples}}, cache_bytes=1e6)
    calls, encode = [], registry.task_pruner.encode
    registry.task_pruner.encode = lambda text: calls.append(text) or encode(text)
    req = GenRequest(model="tiny:big", prompt="t5 t6", chat=False, max_tokens=1)
    list(registry.generate(req))  # selects the mask: encodes the examples once
    calls.clear()
    pieces = list(registry.generate(req))
    assert pieces[-1].info["cache_hit"] and not calls, len(calls)
