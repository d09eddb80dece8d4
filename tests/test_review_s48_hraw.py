"""Review (s48): a raw-text continuation lost its first token's leading space in the API.

``mlx_ifp.generate(model, tok, "The capital of France is", chat_template=False)`` gave
``'Paris.'`` on SmolLM2 (the prompt and reply read "isParis"): mlx-lm's streaming detokenizers
drop the space of a reply's first token, and the Python API passed that on for a raw prompt
(``mlx_lm.generate`` gives ``'Paris.'`` too), while ``mlx_ifp serve``'s ``/v1/completions``
kept it (``core.spaced_reply``, shared since s47 by the API's prefill, ``--prefill-response``
and the server). Now ``stream_generate`` puts it back for every prompt sent without the chat
template (text or token ids, ``chat_template=False``; the CLI's ``--ignore-chat-template``), so
prompt + reply is what the tokenizer decodes for them together; a templated prompt's reply (a
new message) keeps mlx-lm's text.

Also (no bug, a documented limit): an in-place write to a weight (``w[...] = v``, ``w += v``)
keeps MLX's array object, so the slim-cache watch (arrays compared by identity) misses it;
``inference.forget(model)`` is the remedy the README names.

Every test here fails on the code it was written against, but the guards, marked so.
"""

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp.cli import app

import mlx_lm
import pytest
from test_review_s34_serve import spm_tokenizer
from test_serve_edges2 import spaced_tokenizer
from tiny import tiny_model
from typer.testing import CliRunner

RAW = "t5 t6 t7"
G = dict(mask_source="griffin", keep=0.5, max_tokens=4)
WORDS = {"byte-level": spaced_tokenizer, "sentencepiece": spm_tokenizer}


@pytest.fixture(scope="module")
def model():
    return tiny_model("llama")


def continuation(tok, prompt: list[int], reply: list[int]) -> str:
    """What an app joining the prompt's text and the reply must get: the decoded whole, after
    the prompt's own decoded text."""
    return tok.decode(prompt + reply)[len(tok.decode(prompt)) :]


@pytest.mark.parametrize("words", WORDS)
@pytest.mark.parametrize("given", ["text", "ids"])
def test_a_raw_prompt_reply_keeps_its_leading_space(model, words, given):
    """``chat_template=False``, text or token ids: the reply was "t25 ..." where prompt and reply
    decode to "t7 t25 ..." (joined: "t7t25"); now the first streamed piece carries the space."""
    tok = WORDS[words]()
    ids = tok.encode(RAW)
    prompt = RAW if given == "text" else ids
    records = list(mlx_ifp.stream_generate(model, tok, prompt, chat_template=False, **G))
    text = "".join(r.text for r in records)
    want = continuation(tok, ids, [r.token for r in records])
    assert want.startswith(" t"), want
    assert text == want, (text, want)
    assert next(r.text for r in records if r.text).startswith(" ")
    assert mlx_ifp.generate(model, tok, prompt, chat_template=False, **G) == want


def test_a_raw_reply_is_mlx_lm_tokens_with_the_space(model):
    """Guard (passes before and after): nothing pruned, the raw reply's tokens are mlx-lm's
    and its text differs from ``mlx_lm.stream_generate``'s by the one space mlx-lm drops."""
    tok = spaced_tokenizer()
    ours = list(mlx_ifp.stream_generate(model, tok, RAW, chat_template=False, **dict(G, keep=1.0)))
    theirs = list(mlx_lm.stream_generate(model, tok, tok.encode(RAW), max_tokens=4))
    assert [r.token for r in ours] == [r.token for r in theirs]
    mine, lm = "".join(r.text for r in ours), "".join(r.text for r in theirs)
    assert mine.lstrip(" ") == lm.lstrip(" ") and not lm.startswith(" "), (mine, lm)


def test_generate_ignore_chat_template_keeps_the_leading_space(model, monkeypatch):
    """``mlx_ifp generate --ignore-chat-template -p "t5 t6 t7"`` printed "t25 ..."; now the
    API's text for the same raw prompt, " t25 ..."."""
    tok = spaced_tokenizer()
    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: (model, tok))
    args = ["-p", RAW, "--ignore-chat-template", "-m", "4", "--keep", "0.5"]
    run = CliRunner().invoke(app, ["generate", *args, "--mask-source", "griffin", "--quiet"])
    assert run.exit_code == 0, run.output
    reply = run.stdout.removesuffix("\n")
    assert reply == mlx_ifp.generate(model, tok, RAW, chat_template=False, **G), reply
    assert reply.startswith(" t"), reply


def test_an_in_place_weight_write_is_not_seen_by_the_slim_cache_forget_is():
    """Guard of a documented limit (passes before and after): MLX 0.32's ``w[...] = v`` (and
    ``w += v``) keeps the array object and its id, giving it the new value, so the slim-cache
    watch, which compares the arrays held by identity, cannot see it (seeing it would take
    hashing every weight on every call): the next call on the same task reuses the slim model
    cut from the old weights. ``inference.forget(model)`` drops it: the call after cuts anew."""
    model, tok = tiny_model("llama"), spaced_tokenizer()
    kw = dict(mask_source="griffin", keep=0.5, max_tokens=3, prefill="slim", task="t5 t6")
    old = list(mlx_ifp.stream_generate(model, tok, RAW, **kw))
    held = [layer.mlp.down_proj.weight for layer in model.model.layers]
    ids = [id(w) for w in held]
    for layer in model.model.layers:
        layer.mlp.down_proj.weight[...] = 0.0  # the FFN's output zeroed: the reply changes
    now = [layer.mlp.down_proj.weight for layer in model.model.layers]
    assert all(a is b for a, b in zip(now, held, strict=True))  # the same objects, ids too
    assert [id(w) for w in now] == ids and all(float(w.abs().max()) == 0 for w in held)
    stale = list(mlx_ifp.stream_generate(model, tok, RAW, **kw))
    assert stale[-1].prune.cache_hit  # not seen: the old slim model
    assert [r.token for r in stale] == [r.token for r in old]
    mlx_ifp.inference.forget(model)
    fresh = list(mlx_ifp.stream_generate(model, tok, RAW, **kw))
    assert not fresh[-1].prune.cache_hit
    whole = list(mlx_ifp.stream_generate(model, tok, RAW, **dict(kw, keep=1.0, task=None)))
    assert [r.token for r in fresh] == [r.token for r in whole] != [r.token for r in old]


@pytest.mark.real
def test_smollm2_raw_continuation_reads_as_one_text():
    """The brief's case: "The capital of France is" + "Paris." read "isParis."; now " Paris."."""
    model, tok = mlx_ifp.load("smollm2-135m-instruct")
    prompt = "The capital of France is"
    records = list(mlx_ifp.stream_generate(model, tok, prompt, 2, chat_template=False))
    text = "".join(r.text for r in records)
    assert text == continuation(tok, tok.encode(prompt), [r.token for r in records]), text
    assert prompt + text == "The capital of France is Paris.", text
