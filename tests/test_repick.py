"""Re-picking the mask every N reply tokens: generation computes what per-position masks do."""

import mlx_ifp
from mlx_ifp.bench.models import synthetic_tokenizer
from mlx_ifp.common import UsageError
from mlx_ifp.core import ffn
from mlx_ifp.core.prompt import encode, format_chat, messages_for
from mlx_ifp.inference.generation import get_pruner, stream_generate

import mlx.core as mx
import pytest
from tiny import endless_tokenizer, tiny_model

PROMPT = " ".join(f"t{i}" for i in [5, 17, 3, 99, 42, 8, 61, 7, 23, 11, 90, 4])


def _generate(model, tok, n, prefill, max_tokens=9):
    kw = dict(keep=0.5, mask_source="griffin", prefill=prefill, repick=n)
    rs = list(stream_generate(model, tok, PROMPT, max_tokens, chat_template=False, **kw))
    return [r.token for r in rs], [r.logprobs for r in rs], rs[-1].prune


def _per_position_logprobs(model, pruner, prompt, reply, n, dense_prompt):
    """Teacher-forced: the position feeding reply token i runs the mask read off the prompt and
    reply tokens 0..i once i + 1 is a multiple of n (the prompt's own mask before that)."""
    start, seq = len(prompt), prompt + reply
    segments = (len(reply) - 1) // n + 1
    masks = [pruner.source.select(model, prompt + reply[: j * n], pruner.k).dense()
             for j in range(segments)]  # fmt: skip
    per = []
    for p in range(len(seq) - 1):
        m = masks[max(0, p - start + 1) // n]
        per.append(mx.ones_like(m) if dense_prompt and p < start - 1 else m)
    per = mx.stack(per).transpose(1, 0, 2)[None]  # (1, L, T, d)
    with ffn.masked(model, per):
        logits = model(mx.array([seq[:-1]]))[0, start - 1 :]
    return logits - mx.logsumexp(logits, axis=-1, keepdims=True)


@pytest.mark.parametrize(("n", "prefill"), [(2, "slim"), (3, "dense"), (4, "slim")])
def test_generation_that_repicks_is_the_per_position_mask(n, prefill):
    model = tiny_model("llama")
    tok = endless_tokenizer()
    reply, logprobs, info = _generate(model, tok, n, prefill)
    assert len(reply) == 9 and info.repicks == 8 // n  # none for the last token fed (dropped)
    assert info.repick_select_s > 0 and info.repick_slice_s > 0
    pruner = get_pruner(model, tok, "griffin", 0.5)
    prompt = encode(tok, PROMPT)
    ref = _per_position_logprobs(model, pruner, prompt, reply, n, prefill == "dense")
    got = mx.stack(logprobs)
    assert mx.allclose(got, ref, atol=1e-4).item()
    # ... and re-picking changed something: the masks of the segments differ
    once = _per_position_logprobs(model, pruner, prompt, reply, 99, prefill == "dense")
    assert not mx.allclose(got, once, atol=1e-4).item()


def test_repick_is_refused_where_it_cannot_run():
    model = tiny_model("llama")
    tok = synthetic_tokenizer(128)
    run = dict(chat_template=False, keep=0.5)

    def first(**kw):
        return next(iter(stream_generate(model, tok, PROMPT, 2, **run, **kw)))

    for bad in (-1, 1.5, True, "8"):
        with pytest.raises(UsageError, match="repick must be 0"):
            first(repick=bad)
    with pytest.raises(UsageError, match="cannot re-pick"):
        first(repick=4, mask_source="static")
    with pytest.raises(UsageError, match="per-prompt mask"):
        first(repick=4, mask_source="griffin", task="t3 t4")
    first(repick=0, mask_source="static")  # off: any source


def test_the_shipped_predictor_repicks_as_teacher_forcing_scores_it():
    """The real model and its shipped predictor + LoRA: the greedy reply generated with
    ``repick=8`` is the argmax of what ``tools/eval_task_masks.py --reroute 8`` computes
    (per-position masks on the LoRA'd model, LoRA unfused), token for token."""
    model, tok = mlx_ifp.load()
    prompt = "What is the capital of France?"
    rs = list(mlx_ifp.stream_generate(model, tok, prompt, max_tokens=20, repick=8))
    reply = [r.token for r in rs]
    assert rs[-1].prune.repicks == 2
    pruner = get_pruner(model, tok, None, 0.5)
    toks = encode(tok, format_chat(tok, messages_for(prompt)))
    assert pruner.encode(prompt) == toks  # the first user turn is the whole prompt here
    lp = _per_position_logprobs(pruner.model, pruner, toks, reply, 8, dense_prompt=False)
    assert mx.argmax(lp, axis=-1).tolist() == reply


def test_the_default_repicks_for_the_shipped_predictor_only():
    """``repick=None``: every ``DEFAULT_REPICK`` tokens for a trained predictor's per-prompt
    masks; not for GRIFFIN, a task, or an unpruned model."""
    from mlx_ifp.inference.generation import DEFAULT_REPICK

    model, tok = mlx_ifp.load()
    story = "Write a long story about a dragon."
    n = DEFAULT_REPICK + 4

    def repicks(**kw):
        return list(mlx_ifp.stream_generate(model, tok, story, n, **kw))[-1].prune.repicks

    assert repicks() == 1
    assert repicks(repick=0) == repicks(mask_source="griffin") == repicks(keep=1.0) == 0
    assert repicks(task="Write stories.") == 0
