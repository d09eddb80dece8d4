"""Review (session 34) of the inference API against mlx-lm's ``generate``/``stream_generate``:
each test failed before its fix. All run on the tiny random models of ``tiny.py``.
"""

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp import UsageError
from mlx_ifp.core.prompt import encode
from mlx_ifp.inference.generation import select, stream_generate

import mlx.core as mx
import numpy as np
import pytest
from tiny import endless_tokenizer, tiny_model

PROMPT = " ".join(f"t{i}" for i in [5, 17, 3, 99, 42, 8, 61, 7, 23, 11, 90, 4])


@pytest.fixture(scope="module")
def tiny():
    return tiny_model("llama"), endless_tokenizer()


def _reply(model, tok, prompt, n=5, **kw):
    return [r.token for r in stream_generate(model, tok, prompt, n, mask_source="griffin", **kw)]


# --- a prompt given as token ids (mlx-lm's own README: apply_chat_template returns ids)


@pytest.mark.parametrize("kind", [list, tuple, mx.array, np.array])
@pytest.mark.parametrize("kw", [{}, {"prefill": "slim"}, {"repick": 2}], ids=["auto", "slim", "rp"])
def test_a_prompt_of_token_ids_is_generated_from_as_mlx_lm_does(tiny, kind, kw):
    """mlx-lm takes ``prompt`` as a str, a list of ints or an ``mx.array``, and its README's
    recipe is ``prompt = tokenizer.apply_chat_template(messages, add_generation_prompt=True)``
    (token ids), then ``generate(model, tokenizer, prompt=prompt)``. The drop-in refused every
    id prompt: "the prompt must be a str or a list of chat messages, got list"."""
    model, tok = tiny
    ids = encode(tok, PROMPT)
    ref = _reply(model, tok, PROMPT, chat_template=False, **kw)
    assert _reply(model, tok, kind(ids), **kw) == ref
    text = mlx_ifp.generate(model, tok, kind(ids), max_tokens=5, mask_source="griffin", **kw)
    assert text == mlx_ifp.generate(
        model, tok, PROMPT, max_tokens=5, mask_source="griffin", chat_template=False, **kw
    )


def test_select_takes_a_prompt_of_token_ids(tiny):
    model, tok = tiny
    ids = encode(tok, PROMPT)
    _, by_text = select(model, tok, PROMPT, mask_source="griffin", keep=0.25)
    _, by_ids = select(model, tok, ids, mask_source="griffin", keep=0.25)
    assert by_ids.mask.digest() == by_text.mask.digest()


def test_token_ids_with_input_embeddings_are_mlx_lms_recipe(tiny):
    """``input_embeddings`` go with a prompt of the same length: mlx-lm's callers give the ids
    they embedded; text would be re-tokenized (chat template and all) to some other length."""
    model, tok = tiny
    ids = encode(tok, PROMPT)
    emb = model.model.embed_tokens(mx.array(ids))
    got = _reply(model, tok, ids, input_embeddings=emb)
    assert got == _reply(model, tok, ids, prefill="slim")


@pytest.mark.parametrize(
    "bad, says",
    [([1.5, 2], "token ids"), ([5, 1000], "vocabulary"), ([], "prompt"), ([[1, 2]], "token ids")],
)
def test_bad_token_id_prompts_are_one_line(tiny, bad, says):
    model, tok = tiny
    with pytest.raises(UsageError, match=says):
        _reply(model, tok, bad)


def test_a_system_prompt_with_token_ids_is_refused_not_dropped(tiny):
    model, tok = tiny
    with pytest.raises(UsageError, match="system_prompt"):
        _reply(model, tok, encode(tok, PROMPT), system_prompt="Be brief.")


# --- prompt_progress_callback: mlx-lm reports (0, n) before the prompt runs


def test_progress_starts_at_zero_before_a_dense_prefill(tiny):
    """mlx-lm calls ``prompt_progress_callback(0, n)`` before any prompt token runs (an app
    shows its progress bar then). After a dense prefill mlx-lm sees one token, so the first
    report came only once the whole prompt had run: (n - 1, n)."""
    model, tok = tiny
    calls = []
    _reply(
        model, tok, PROMPT, chat_template=False, prompt_progress_callback=lambda *a: calls.append(a)
    )
    n = len(encode(tok, PROMPT))
    assert calls[0] == (0, n) and calls[-1] == (n, n)
    assert calls == sorted(calls)


# --- one Pruner shared by two threads (an app's worker pool)


def test_the_slim_cache_is_safe_when_another_thread_evicts_during_a_lookup():
    """``SlimCache.get`` checked ``key in items`` and then moved the key to the end: a put
    from another thread in between (one slot: it evicts that key) made the lookup raise
    KeyError out of ``stream_generate``. The other thread's put is started between the two
    steps here; with the cache locked it waits for the lookup to finish."""
    import threading
    from collections import OrderedDict

    from mlx_ifp.inference.pruner import SlimCache

    cache = SlimCache(1)

    class Interleaved(OrderedDict):
        def __contains__(self, key):
            found = super().__contains__(key)
            other = threading.Thread(target=cache.put, args=("b", ("mask-b", "slim-b")))
            other.start()
            other.join(0.3)  # the other thread runs now, unless the cache makes it wait
            return found

    cache._items = Interleaved()
    cache._items["a"] = ("mask-a", "slim-a")
    assert cache.get("a") == ("mask-a", "slim-a")
