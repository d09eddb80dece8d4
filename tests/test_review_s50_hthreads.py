"""Review (s50, hthreads): the Python API as a macOS app uses it, for state a stream leaves
behind. Nothing here failed on the code it was written against: these are guards of what the
README promises ("a stream broken off early (``break``, ``close()``, an exception in the loop)
leaves nothing behind that changes the next call"; "threads may generate on one model at
once ... each reply the one a lone call gives"), for the cases no test held yet:

- a stream closed, or dropped, on another thread than the one that ran it (the app's Stop
  button handled on the UI thread); an exception, or ``KeyboardInterrupt``, raised in the loop
  body or inside the generation (a logits processor) mid-reply; a re-picking stream among them;
- threads generating at once through one ``Pruner`` that keeps no slim model (``cache_size=0``:
  every call selects and cuts its own, the dense prefill's observer and re-picks included),
  while another thread makes ``Pruner``s of other budgets and sources on the same model.

Each reply (its tokens and its mask) is compared with the one a lone call gave before
(greedy, a tiny random model).
The masks are context variables set and reset within one call (never across a ``yield``), so
a stream closed in another thread has no token to reset there; mlx-lm's own
"StreamContext destroyed in a different thread" note (its generator's ``mx.stream`` block,
printed through ``sys.unraisablehook``) is mlx-lm's and is ignored here.
"""

import gc
import sys
import threading

import mlx_ifp

import pytest
from tiny import endless_tokenizer, tiny_model

P = "t1 t2 t3 t4 t5"
KINDS = {  # a dense prefill + GRIFFIN mask; re-picked; slim prefill; a task; a given source
    "dense": dict(),
    "repick": dict(repick=2),
    "slim": dict(prefill="slim", keep=0.3),
    "task": dict(task="t7 t8 t9"),
    "random": dict(mask_source="random"),
}


@pytest.fixture(scope="module")
def tiny():
    return tiny_model("llama"), endless_tokenizer()


def _stream(model, tok, prompt=P, **kw):
    return mlx_ifp.stream_generate(model, tok, prompt, 10, chat_template=False, **kw)


def _tokens(model, tok, prompt=P, **kw) -> tuple[list[int], list]:
    """The reply's tokens and the channels of its (first) mask, each layer's."""
    records = list(_stream(model, tok, prompt, **kw))
    return [r.token for r in records], records[0].prune.mask.indices.tolist()


def _on_thread(fn) -> list:
    """``fn()`` run on a thread of its own; what it raised (a list of at most one)."""
    raised = []

    def run():
        try:
            fn()
        except BaseException as e:  # (KeyboardInterrupt too: to the test, not the thread)
            raised.append(e)

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return raised


def _interrupted(model, tok, kw) -> None:
    """Replies stopped every way an app stops one, each after a few tokens."""
    for r in _stream(model, tok, **kw):  # the Stop button: break (the generator left open)
        if r.generation_tokens == 3:
            break
    for exc in (RuntimeError("the app's own"), KeyboardInterrupt()):  # raised in the loop body
        with pytest.raises(type(exc)):
            for r in _stream(model, tok, **kw):
                if r.generation_tokens == 4:
                    raise exc
    calls = []

    def ctrl_c(tokens, logits):  # inside mlx-lm's loop, mid-reply (a re-pick runs there too)
        calls.append(1)
        if len(calls) == 5:
            raise KeyboardInterrupt
        return logits

    with pytest.raises(KeyboardInterrupt):
        list(_stream(model, tok, **kw, logits_processors=[ctrl_c]))
    left = _stream(model, tok, **kw)
    next(left), next(left)
    assert _on_thread(left.close) == []  # closed on another thread: nothing raised
    dropped = [_stream(model, tok, **kw)]
    next(dropped[0])
    assert _on_thread(lambda: (dropped.clear(), gc.collect())) == []  # freed on another thread


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("kind", list(KINDS))
def test_a_stream_stopped_any_way_leaves_the_next_reply_as_before(tiny, kind):
    model, tok = tiny
    kw = KINDS[kind]
    ref = {k: _tokens(model, tok, **v) for k, v in KINDS.items()}
    _interrupted(model, tok, kw)
    assert {k: _tokens(model, tok, **v) for k, v in KINDS.items()} == ref
    # and in a thread that never ran one
    got = {}
    assert (
        _on_thread(lambda: got.update({k: _tokens(model, tok, **v) for k, v in KINDS.items()}))
        == []
    )
    assert got == ref


def test_threads_sharing_a_pruner_that_keeps_nothing_reply_as_alone(tiny):
    model, tok = tiny
    pruner = mlx_ifp.Pruner(model, tok, "griffin", 0.5, cache_size=0)  # every call cuts its own
    prompts = [" ".join(f"t{(7 * i + 3 * j) % 120}" for j in range(30 + i)) for i in range(6)]
    step = {"prefill_step_size": 8}  # passes of several chunks: threads switch within them
    kinds = {"dense": step, "repick": {"repick": 2, **step}, "slim": {"prefill": "slim"}}
    ref = {
        (p, k): _tokens(model, tok, p, pruner=pruner, **kw)
        for p in prompts
        for k, kw in kinds.items()
    }
    jobs, wrong, raised = list(ref) * 2, [], []

    def work(mine):
        for p, k in mine:
            try:
                if _tokens(model, tok, p, pruner=pruner, **kinds[k]) != ref[p, k]:
                    wrong.append((p, k))
            except Exception as e:  # (a thread's exception would only be printed)
                wrong.append(repr(e))

    def other_pruners():  # the app's main thread meanwhile, for other tasks
        for source, keep in (("griffin", 0.25), ("random", 0.5), ("static-act", 0.75)):
            mlx_ifp.Pruner(model, tok, source, keep).slim_for("t3 t4 t5")

    switch = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)  # thread switches inside each call, not between calls
    try:
        threads = [threading.Thread(target=work, args=(jobs[i::3],)) for i in range(3)]
        for t in threads:
            t.start()
        raised = _on_thread(other_pruners)  # (waited for here, while the three run)
        for t in threads:
            t.join()
    finally:
        sys.setswitchinterval(switch)
    assert raised == [] and wrong == []
