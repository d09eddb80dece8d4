"""Review (s48): a base model's raw reply changed with a flag that changes nothing for it.

Since s48 a reply to a prompt sent without the chat template (``chat_template=False``) keeps
its first token's leading space (``core.spaced_reply``: "The capital of France is" + " Paris").
A tokenizer with no chat template (a base model's) sends every prompt raw, whatever the flag,
but only ``chat_template=False`` kept the space: ``generate(model, tok, "The capital of France
is")`` gave "Paris." where ``chat_template=False`` gave " Paris." for the very same tokens;
so did token ids, ``mlx_ifp generate`` without ``--ignore-chat-template`` and the server's
``/v1/chat/completions`` beside ``/v1/completions`` (the same text, the same tokens sent). Now
``stream_generate`` keeps the space wherever the prompt reaches the model raw: with
``chat_template=False``, or on a tokenizer with no chat template; a templated prompt's reply
(a new message) keeps mlx-lm's text.

Every test here fails on the code it was written against, but the guard, marked so.
"""

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp.cli import app
from mlx_ifp.serve.registry import Registry
from mlx_ifp.serve.schemas import Limits, parse_request

import mlx_lm
import pytest
from test_review_s34_serve import spm_tokenizer
from test_review_s47_hpfx import ROLES
from test_serve_edges2 import spaced_tokenizer
from tiny import tiny_model
from typer.testing import CliRunner

RAW = "t5 t6 t7"
G = dict(mask_source="griffin", keep=0.5, max_tokens=4)
LIMITS = Limits(max_tokens_limit=64, timeout_s=30)
WORDS = {"byte-level": spaced_tokenizer, "sentencepiece": spm_tokenizer}


@pytest.fixture(scope="module")
def model():
    return tiny_model("llama")


def continuation(tok, prompt: list[int], reply: list[int]) -> str:
    """The decoded whole after the prompt's own decoded text: what prompt + reply must read."""
    return tok.decode(prompt + reply)[len(tok.decode(prompt)) :]


def reply(model, tok, prompt, **kw) -> tuple[str, list[int]]:
    records = list(mlx_ifp.stream_generate(model, tok, prompt, **G, **kw))
    return "".join(r.text for r in records), [r.token for r in records]


@pytest.mark.parametrize("words", WORDS)
@pytest.mark.parametrize("given", ["text", "ids", "messages"])
def test_a_template_less_prompt_keeps_the_space_whatever_the_flag(model, words, given):
    """No chat template, ``chat_template=True`` (the default): the reply was "t25 ..." where
    ``chat_template=False`` gave " t25 ..." for the same tokens sent; now both the latter."""
    tok = WORDS[words]()
    assert not mlx_ifp.core.has_chat_template(tok)
    ids = tok.encode(RAW)
    prompt = {"text": RAW, "ids": ids, "messages": [{"role": "user", "content": RAW}]}[given]
    text, tokens = reply(model, tok, prompt)
    want = continuation(tok, ids, tokens)
    assert want.startswith(" t"), want
    assert text == want, (text, want)
    assert reply(model, tok, RAW, chat_template=False) == (text, tokens)
    assert mlx_ifp.generate(model, tok, prompt, **G) == want


def test_generate_on_a_template_less_model_keeps_the_space(model, monkeypatch):
    """``mlx_ifp generate -p "t5 t6 t7"`` on a model with no template printed "t25 ..."; with
    ``--ignore-chat-template`` (which changes nothing it sends) " t25 ...": now both the same."""
    tok = spaced_tokenizer()
    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: (model, tok))
    args = [
        "generate",
        "-p",
        RAW,
        "-m",
        "4",
        "--keep",
        "0.5",
        "--mask-source",
        "griffin",
        "--quiet",
    ]
    runs = [CliRunner().invoke(app, args + flag) for flag in ([], ["--ignore-chat-template"])]
    assert all(r.exit_code == 0 for r in runs), [r.output for r in runs]
    plain, raw = (r.stdout.removesuffix("\n") for r in runs)
    assert plain == raw == reply(model, tok, RAW)[0], (plain, raw)
    assert plain.startswith(" t"), plain


def test_the_server_chat_on_a_template_less_model_is_its_completion(model):
    """``/v1/chat/completions`` on a model with no template sends the user's text raw, as
    ``/v1/completions`` does: the same tokens, the same reply, but the chat's lost its space."""
    tok = spaced_tokenizer()
    registry = Registry(model, tok, "tiny", keep=0.5, cache_bytes=1e6)
    chat = {"model": "tiny", "messages": [{"role": "user", "content": RAW}], "max_tokens": 4}
    done = {"model": "tiny", "prompt": RAW, "max_tokens": 4}
    texts = ["".join(p.text for p in registry.generate(parse_request(body, is_chat, LIMITS)))
             for body, is_chat in ((chat, True), (done, False))]  # fmt: skip
    assert texts[0] == texts[1] and texts[1].startswith(" t"), texts


@pytest.mark.parametrize("words", WORDS)
def test_a_templated_reply_keeps_mlx_lm_text(model, words):
    """Guard (passes before and after): with a chat template, a user turn last (text, messages)
    and token ids with ``chat_template=True`` give ``mlx_lm.stream_generate``'s text, the first
    token's space dropped: a new message, not a continuation; so does the server's chat."""
    tok = WORDS[words]()
    tok._tokenizer.chat_template = ROLES
    user = [{"role": "user", "content": RAW}]
    sent = tok.encode(tok.apply_chat_template(user, tokenize=False, add_generation_prompt=True))
    full = dict(G, keep=1.0)  # nothing pruned: the very model mlx-lm runs
    theirs = list(mlx_lm.stream_generate(model, tok, sent, max_tokens=4))
    lm = "".join(r.text for r in theirs)
    assert continuation(tok, sent, [r.token for r in theirs]).startswith(" t")  # one to drop
    for prompt in (RAW, user, sent):
        ours = list(mlx_ifp.stream_generate(model, tok, prompt, **full))
        assert [r.token for r in ours] == [r.token for r in theirs]
        assert "".join(r.text for r in ours) == lm and not lm.startswith(" "), lm
    registry = Registry(model, tok, "tiny", keep=1.0, cache_bytes=1e6)
    body = {"model": "tiny", "messages": user, "max_tokens": 4}
    assert "".join(p.text for p in registry.generate(parse_request(body, True, LIMITS))) == lm
