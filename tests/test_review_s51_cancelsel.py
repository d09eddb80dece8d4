"""Review (s51): a request cancelled while its mask is being selected.

s50 made the dense prefill passes call ``prompt_progress_callback`` between their chunks (the
server's raises once the client is gone), but the pass that *selects* a mask from a text was
left out: GRIFFIN's ``scores`` ran the text through the dense model with no callback, in chunks
of 2048 whatever ``prefill_step_size`` said. So with ``prefill="slim"`` (the per-prompt mask
read off the first user turn) or for a task's text, **a caller that had gone still had the whole
text read to its end**, and only mlx-lm's own prefill (or the next chunk after it) stopped.
Now ``stream_generate`` runs the selection inside ``sources.selecting``: the source's dense pass
over the text takes ``prefill_step_size`` tokens at a time and calls the same callback after
each chunk (as ``(0, n)``: none of the prompt has run yet), so raising stops it there.

A trained predictor's own pass over the text (``PredictorSource.scores``, as ``mlx_ifp serve
--repick 0`` runs it) was one forward then; since the fifty-second session a predictor that reads
GRIFFIN statistics reads in the same chunks (tests/test_review_s52_hleft.py).

Prompt tokens are counted by wrapping the tiny llama's decoder stack (calls of more than one
token); the caller goes away during the first. Every test but the guard (said in its docstring)
fails on the code it was written against.
"""

import asyncio
import functools
import threading
import time

import mlx_ifp
from mlx_ifp.inference.generation import forget
from mlx_ifp.serve.app import create_app
from mlx_ifp.serve.registry import Registry
from mlx_ifp.serve.scheduler import Job, Scheduler
from mlx_ifp.serve.schemas import Limits, parse_request

import pytest
from mlx_lm.models.llama import LlamaModel
from test_review_s50_hprefill import gone_in_the_first_chunk
from test_serve import KEEP, Server, word_tokenizer
from tiny import tiny_model

STEP = 8  # prefill_step_size: the text (51 tokens) is read in 7 chunks
TEXT = " ".join(f"t{5 + i % 90}" for i in range(41))


class Gone(Exception):
    """What the caller's progress callback raises once it no longer wants the reply."""


@pytest.fixture
def chunks(monkeypatch):
    """Counts the prompt chunks (decoder calls of more than one token) the model runs, and their
    tokens; ``on_first`` (if set) runs inside the first one."""
    seen = {"n": 0, "tokens": 0, "on_first": None}
    original = LlamaModel.__call__

    def counted(self, inputs, *args, **kwargs):
        if inputs.shape[-1] > 1:
            seen["n"] += 1
            seen["tokens"] += inputs.shape[-1]
            if seen["n"] == 1 and seen["on_first"] is not None:
                seen["on_first"]()
        return original(self, inputs, *args, **kwargs)

    monkeypatch.setattr(LlamaModel, "__call__", counted)
    return seen


def reply(model, tok, prompt, **kw) -> str:
    kw = {"keep": KEEP, "chat_template": False, **kw}
    return "".join(r.text for r in mlx_ifp.stream_generate(model, tok, prompt, 4, **kw))


def stopped(chunks, model, tok, prompt, **kw):
    """The reply of a caller gone during the first prompt chunk: stopped (``Gone``)."""
    gone = threading.Event()
    chunks["n"], chunks["tokens"], chunks["on_first"] = 0, 0, gone.set
    calls = []

    def progress(done, total):
        calls.append((done, total))
        if gone.is_set():
            raise Gone

    with pytest.raises(Gone):
        reply(model, tok, prompt, prompt_progress_callback=progress, **kw)
    chunks["on_first"] = None
    return calls


@pytest.mark.parametrize(
    "how",
    [
        {"mask_source": "griffin", "prefill": "slim"},  # the first user turn's GRIFFIN pass
        {"task": TEXT},  # a task's text, read by GRIFFIN (its first request: not cached yet)
    ],
    ids=["per-prompt-slim", "task-text"],
)
def test_a_progress_callback_that_raises_stops_the_selection_pass_between_chunks(chunks, how):
    """The selection read all 41 tokens of the text in one pass before the callback was first
    called; now it reads them ``prefill_step_size`` at a time and stops after the first chunk."""
    model, tok = tiny_model("llama"), word_tokenizer()
    prompt = TEXT if "task" not in how else "t5 t6 t7"
    expected = reply(model, tok, prompt, prefill_step_size=STEP, **how)
    forget(model)  # (its mask not cached: the selection runs again)
    calls = stopped(chunks, model, tok, prompt, prefill_step_size=STEP, **how)
    assert chunks["tokens"] == STEP, f"{chunks['tokens']} tokens ran after the caller had gone"
    n = len(tok.encode(prompt, add_special_tokens=False))
    assert calls == [(0, n)]  # (none of the prompt itself had run)
    assert reply(model, tok, prompt, prefill_step_size=STEP, **how) == expected


def test_at_the_default_step_a_long_text_is_stopped_after_2048_tokens(chunks):
    """No ``prefill_step_size``: the selection still ran every chunk of 2048 to the end."""
    model, tok = tiny_model("llama", max_position_embeddings=4096), word_tokenizer()
    long = " ".join(f"t{5 + i % 90}" for i in range(2100))
    stopped(chunks, model, tok, long, mask_source="griffin", prefill="slim")
    assert chunks["n"] == 1 and chunks["tokens"] == 2048, chunks


def test_the_selection_without_a_callback_is_unchanged(chunks):
    """Guard (passes before the fix too): no callback, the default step: the same mask as the
    source's own ``select`` over the text (one pass, in one chunk)."""
    model, tok = tiny_model("llama"), word_tokenizer()
    slim, info = mlx_ifp.select(model, tok, TEXT, mask_source="griffin", keep=KEEP)
    ids = tok.encode(TEXT, add_special_tokens=False)
    mask = mlx_ifp.make_source("griffin").select(model, ids, info.mask.k)
    assert [i.tolist() for i in mask.indices] == [i.tolist() for i in info.mask.indices]
    chunks["n"] = 0
    forget(model)
    r = list(mlx_ifp.stream_generate(model, tok, TEXT, 2, keep=KEEP, chat_template=False,
                                     mask_source="griffin", prefill="slim"))  # fmt: skip
    assert r[-1].prune.mask.digest() == info.mask.digest()


def test_a_client_gone_during_a_tasks_selection_stops_it(chunks, monkeypatch):
    """The server read a task's whole text (the first request for it) for a client gone."""
    chunked = functools.partial(mlx_ifp.stream_generate, prefill_step_size=STEP)
    monkeypatch.setattr(mlx_ifp, "stream_generate", chunked)
    registry = Registry(tiny_model("llama"), word_tokenizer(), "tiny", keep=KEEP,
                        tasks={"long": {"task": TEXT}}, cache_bytes=1e6)  # fmt: skip
    app = create_app(registry, Limits(max_tokens_limit=300, timeout_s=60))
    scheduler = app.state.scheduler

    def wait_for_the_cancel():  # the worker, in the first chunk, until the client has gone
        assert scheduler._current.cancelled.wait(10), "the disconnect was not seen"

    chunks["n"], chunks["tokens"], chunks["on_first"] = 0, 0, wait_for_the_cancel
    server = Server(app)
    try:
        body = {"model": "tiny:long", "prompt": "t5 t6 t7", "max_tokens": 5, "stream": True}
        gone_in_the_first_chunk(server, scheduler, chunks, body, "the selection")
        assert chunks["tokens"] == STEP, f"{chunks['tokens']} tokens ran for a client gone"
        assert scheduler.counts()["failed"] == 0
    finally:
        chunks["on_first"] = None
        server.stop()


def test_a_request_cancelled_while_queued_never_selects(chunks):
    """Guard (passes before the fix too): a job cancelled in the queue, then reached by the
    worker, is dropped there: its generation (and so its selection pass) never starts."""
    registry = Registry(tiny_model("llama"), word_tokenizer(), "tiny", keep=KEEP,
                        tasks={"long": {"task": TEXT}}, cache_bytes=1e6)  # fmt: skip
    limits = Limits(max_tokens_limit=300, timeout_s=60)
    req = parse_request({"model": "tiny:long", "prompt": TEXT, "max_tokens": 3}, False, limits)
    called = []

    async def main():
        loop = asyncio.get_running_loop()
        sched = Scheduler()
        release, started = threading.Event(), threading.Event()

        def long_job():
            started.set()
            release.wait(30)
            yield "x"

        sched.submit(Job("a", long_job, loop))
        sched.start()
        await asyncio.to_thread(started.wait, 30)
        work = lambda: called.append(1) or registry.generate(req, job.check)  # noqa: E731
        job = sched.submit(Job("b", work, loop))
        chunks["n"] = 0
        job.cancel()  # the client gone (not dropped by ``pending``: the worker reaches it)
        release.set()
        deadline = time.monotonic() + 10
        while sched.stats["cancelled"] == 0:
            assert time.monotonic() < deadline, sched.stats
            await asyncio.sleep(0.01)
        await asyncio.to_thread(sched.close)
        assert not job.started.is_set()

    asyncio.run(main())
    assert not called and chunks["n"] == 0
