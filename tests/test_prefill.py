"""Dense prefill, slim decoding: the mask read off the prompt's own pass, decoding from its KV."""

from mlx_ifp.common import UsageError
from mlx_ifp.core import ffn
from mlx_ifp.inference.generation import stream_generate
from mlx_ifp.inference.pruner import Pruner
from mlx_ifp.sources import dense_prefill

import mlx.core as mx
import pytest
from reference import assert_top_k, griffin_scores
from tiny import endless_tokenizer, tiny_model

PROMPT = [5, 17, 3, 99, 42, 8, 61, 7, 23, 11, 90, 4]


@pytest.mark.parametrize("arch", ["llama", "gemma3_text"])
def test_prefill_selects_the_mask_griffin_would_select(arch):
    model = tiny_model(arch)
    pruner = Pruner(model, source="griffin", keep=0.25)
    _, info, cache = pruner.prefill(PROMPT, step=5)  # chunked: statistics add up across chunks
    assert cache[0].offset == len(PROMPT) - 1  # ... but the slim model processes that one
    # GRIFFIN's score in plain numpy over the whole prompt, last token too
    assert_top_k(info.mask.indices, griffin_scores(model, PROMPT), pruner.k)
    assert info.prefill_s > 0 and not info.cache_hit


def _reference_logits(model, mask, prompt):
    """Prompt positions dense, the last one masked: what dense prefill + slim decoding is."""
    T = len(prompt)
    pos = (mx.arange(T) >= T - 1).astype(mx.float32)[:, None]  # (T, 1)
    per_pos = mask.dense()[:, None, :] * pos + (1 - pos)  # (L, T, d)
    with ffn.masked(model, per_pos[None]):
        return model(mx.array([prompt]))[0, -1]


# gemma3_text has a 16-token sliding window: 20 tokens fill its rotating caches
@pytest.mark.parametrize(("arch", "n"), [("llama", 12), ("qwen3", 12), ("gemma3_text", 12),
                                         ("gemma3_text", 16), ("gemma3_text", 20)])  # fmt: skip
def test_slim_decoding_from_a_dense_cache_is_a_per_position_mask(arch, n):
    model = tiny_model(arch)
    prompt = (PROMPT * 2)[:n]
    pruner = Pruner(model, source="griffin", keep=0.5)
    slim, info, cache = pruner.prefill(prompt)
    last = slim(mx.array([prompt[-1:]]), cache=cache)[0, -1]
    assert mx.allclose(last, _reference_logits(model, info.mask, prompt), atol=1e-4).item()


def test_repeat_prompt_is_a_cache_hit_with_the_same_mask():
    model = tiny_model("llama")
    pruner = Pruner(model, source="griffin", keep=0.5)
    slim1, info1, _ = pruner.prefill(PROMPT)
    slim2, info2, cache = pruner.prefill(PROMPT)
    assert info2.cache_hit and slim2 is slim1 and info2.slice_s == 0
    assert cache[0].offset == len(PROMPT) - 1


def test_prefill_needs_an_observing_source_and_two_tokens():
    model = tiny_model("llama")
    with pytest.raises(UsageError, match="cannot select during a prefill"):
        Pruner(model, source="static", keep=0.5).prefill(PROMPT)
    with pytest.raises(UsageError, match="at least 2 tokens"):
        Pruner(model, source="griffin", keep=0.5).prefill(PROMPT[:1])


def _reply(model, tok, **kw):
    rs = list(stream_generate(model, tok, " ".join(f"t{i}" for i in PROMPT), 6,
                              chat_template=False, **kw))  # fmt: skip
    return [r.token for r in rs], rs[-1]


def test_generate_prefill_modes():
    model = tiny_model("llama")
    tok = endless_tokenizer()
    slim, last_slim = _reply(model, tok, keep=0.5, prefill="slim")
    assert last_slim.prune.prefill_s == 0
    dense, last = _reply(model, tok, keep=0.5, prefill="dense")
    assert last.prompt_tokens == last_slim.prompt_tokens >= len(PROMPT)  # the whole prompt
    assert last.prune.prefill_s > 0 and last.prune.select_s < last.prune.prefill_s
    assert last.prompt_tps * last.prune.prefill_s < last.prompt_tokens  # prefill counted
    _, auto = _reply(model, tok, keep=0.5)  # per prompt + GRIFFIN: dense
    assert auto.prune.prefill_s > 0
    # the first token is the argmax of slim decoding over the dense cache
    ids = tok.encode(" ".join(f"t{i}" for i in PROMPT))
    assert dense[0] == mx.argmax(_reference_logits(model, last.prune.mask, ids)).item()
    calls = []
    _reply(model, tok, keep=0.5, prompt_progress_callback=lambda *a: calls.append(a))
    assert calls[-1] == (len(ids), len(ids))
    # options that need the whole prompt: auto falls back to slim, explicit dense refuses
    _, fell_back = _reply(model, tok, keep=0.5, logits_processors=[lambda t, x: x])
    assert fell_back.prune.prefill_s == 0
    with pytest.raises(UsageError, match="cannot be combined with draft_model"):
        _reply(model, tok, keep=0.5, prefill="dense", draft_model=model)
    # a task mask with a dense prompt: the same slim model, the prompt through the source
    _, last = _reply(model, tok, keep=0.5, task="t3 t4 t5", prefill="dense")
    assert last.prune.prefill_s > 0
    with pytest.raises(UsageError, match="prefill must be one of"):
        _reply(model, tok, prefill="fast")


def test_dense_prefill_leaves_no_mask_active():
    model = tiny_model("llama")
    mask = Pruner(model, source="random", keep=0.25).source.select(model, PROMPT, 24)
    with ffn.masked(model, mask.dense()):  # a caller's mask must not leak into the prefill
        cache = dense_prefill(model, PROMPT)
    ref = dense_prefill(model, PROMPT)
    # the last layer's keys depend on every FFN below it (layer 0's do not)
    assert mx.allclose(cache[-1].state[0], ref[-1].state[0]).item()
    with ffn.masked(model, mask.dense()):
        leaked = model.model(mx.array([PROMPT]))
    assert not mx.allclose(leaked, model.model(mx.array([PROMPT]))).item()  # masks do matter
    trimmed = dense_prefill(model, PROMPT, drop_last=True)
    assert trimmed[0].offset == len(PROMPT) - 1
    n = len(PROMPT) - 1
    keys, ref_keys = trimmed[-1].state[0][..., :n, :], ref[-1].state[0][..., :n, :]
    assert mx.allclose(keys, ref_keys, atol=1e-5).item()  # n vs n + 1 rows: other GEMM blocking


def test_rotating_cache_prefill():
    """With max_kv_size the cache rotates; the prefill still leaves the last token out."""
    model = tiny_model("llama")
    pruner = Pruner(model, source="griffin", keep=0.5)
    prompt = (PROMPT * 3)[:30]
    slim, info, cache = pruner.prefill(prompt, max_kv_size=8)
    assert cache[0].offset == len(prompt) - 1 and info.mask.k == 48
    assert slim(mx.array([prompt[-1:]]), cache=cache).shape[-1] == 128


def test_auto_prefill_follows_the_source_preference():
    """``prefill="auto"`` is dense for per-prompt masks of sources that prefer it (a plug-in
    hook, not a list of names) and slim for the others."""
    from mlx_ifp.sources.static import StaticWeight

    class DenseStatic(StaticWeight):
        name = "static-dense-prefill"
        uses_text = True  # a task for one that reads none is refused (s45)

        def prefers_dense_prefill(self) -> bool:
            return True

    model = tiny_model("llama")
    tok = endless_tokenizer()
    _, plain = _reply(model, tok, keep=0.5, mask_source="static")
    assert plain.prune.prefill_s == 0
    _, dense = _reply(model, tok, keep=0.5, mask_source=DenseStatic())
    assert dense.prune.prefill_s > 0
    _, task = _reply(model, tok, keep=0.5, mask_source=DenseStatic(), task="t3 t4")
    assert task.prune.prefill_s == 0  # task masks keep the cheaper slim prefill
