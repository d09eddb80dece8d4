"""Review of ``mlx_ifp serve`` (session 34): the model's context (prompt + ``max_tokens``), the
leading space of a ``/v1/completions`` reply with a SentencePiece tokenizer, and more.

Same pattern as ``test_serve``: a tiny random llama served by a real uvicorn in a thread,
driven with raw HTTP requests and the openai client.
"""

import json

import mlx_ifp
from mlx_ifp.serve.app import create_app
from mlx_ifp.serve.registry import Registry
from mlx_ifp.serve.schemas import Limits

import openai
import pytest
from test_serve import KEEP, Server, is_openai_error, post, word_tokenizer
from tiny import tiny_model

CONTEXT = 16  # the context of the small-context model below
LONG = "t5 t6 t7 t8 t9 " * 2  # 10 tokens


def endless_words():
    """``word_tokenizer`` with no end token: every generation runs its whole max_tokens."""
    tok = word_tokenizer()
    tok._eos_token_ids = set()
    return tok


@pytest.fixture(scope="module")
def small():
    """A model whose config states a context of 16 tokens."""
    model, tok = tiny_model("llama", max_position_embeddings=CONTEXT), endless_words()
    assert mlx_ifp.core.context_length(model) == CONTEXT and len(tok.encode(LONG)) == 10
    registry = Registry(model, tok, "tiny", keep=KEEP, cache_bytes=1e6)
    s = Server(create_app(registry, Limits(max_tokens_limit=64, timeout_s=30)))
    yield s
    s.stop()


def _request(path: str, prompt: str, **extra) -> bytes:
    if path == "/v1/completions":
        body = {"model": "tiny", "prompt": prompt, **extra}
    else:
        body = {"model": "tiny", "messages": [{"role": "user", "content": prompt}], **extra}
    return json.dumps(body).encode()


PATHS = ["/v1/chat/completions", "/v1/completions"]

# ------------------------------------------------------------------------------- context


@pytest.mark.parametrize("path", PATHS)
def test_prompt_plus_max_tokens_over_the_context_is_a_400(small, path):
    """OpenAI answers a request whose prompt and ``max_tokens`` do not fit the model's context
    with a 400 ``context_length_exceeded``; the server generated past the context (the model's
    positions beyond what it was trained on) and answered 200."""
    status, body = post(small.url, _request(path, LONG, max_tokens=CONTEXT), path)
    assert status == 400 and is_openai_error(body), body
    assert body["error"]["code"] == "context_length_exceeded", body
    assert "16" in body["error"]["message"]
    status, body = post(small.url, _request(path, LONG, max_tokens=CONTEXT - 10), path)
    assert status == 200 and body["usage"]["completion_tokens"] == CONTEXT - 10, body


@pytest.mark.parametrize("path", PATHS)
def test_a_prompt_longer_than_the_context_says_context_length_exceeded(small, path):
    """The library refuses it (a 400), but with ``code: null``: clients that look for OpenAI's
    ``context_length_exceeded`` (to trim the history and retry) missed it."""
    prompt = LONG * 2
    status, body = post(small.url, _request(path, prompt, max_tokens=1), path)
    assert status == 400 and is_openai_error(body), body
    assert body["error"]["code"] == "context_length_exceeded", body


@pytest.mark.parametrize("stream", [False, True])
def test_the_default_max_tokens_stops_at_the_context(small, stream):
    """Without ``max_tokens`` the reply may use the rest of the context (OpenAI's, vLLM's and
    llama.cpp's reading); the server's default (256) ran far past it."""
    extra = {"stream": True, "stream_options": {"include_usage": True}} if stream else {}
    client = openai.OpenAI(base_url=small.url + "/v1", api_key="none", max_retries=0)
    reply = client.completions.create(model="tiny", prompt=LONG, **extra)
    if stream:
        chunks = list(reply)
        usage, finish = chunks[-1].usage, [c.choices[0].finish_reason for c in chunks[:-1]]
        assert finish[-1] == "length"
    else:
        usage = reply.usage
        assert reply.choices[0].finish_reason == "length"
    assert (usage.prompt_tokens, usage.completion_tokens) == (10, CONTEXT - 10)


# ---------------------------------------------------------------- SentencePiece leading space


def spm_tokenizer(vocab_size: int = 128):
    """Words ``t0 ..`` as SentencePiece pieces ``▁t0 ..`` (Llama 2's, Mistral's, Gemma's
    decoder: the first piece's space stripped), eos ``t1``, no chat template."""
    from mlx_lm.tokenizer_utils import SPMStreamingDetokenizer, TokenizerWrapper
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.WordLevel({f"▁t{i}": i for i in range(vocab_size)}, unk_token="▁t0"))
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="▁", prepend_scheme="always")
    tok.decoder = decoders.Sequence(
        [
            decoders.Replace("▁", " "),
            decoders.ByteFallback(),
            decoders.Fuse(),
            decoders.Strip(" ", 1, 0),
        ]
    )
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="▁t1")
    return TokenizerWrapper(fast, detokenizer_class=SPMStreamingDetokenizer)


@pytest.fixture(scope="module")
def spm():
    model, tok = tiny_model("llama"), spm_tokenizer()
    assert tok.encode("t5 t6") == [5, 6] and tok.decode([5, 6]) == "t5 t6"
    registry = Registry(model, tok, "tiny", keep=KEEP, cache_bytes=1e6)
    s = Server(create_app(registry, Limits(max_tokens_limit=64, timeout_s=30)))
    yield s, model, tok
    s.stop()


def test_completions_keep_the_leading_space_with_a_sentencepiece_tokenizer(spm):
    """ "The capital of France is" + " Paris": the fix for byte-level tokenizers tests whether
    ``decode(reply tokens)`` starts with a space, but a SentencePiece decoder strips the first
    piece's space there too, so the reply still came back as "Paris" ("isParis")."""
    server, model, tok = spm
    prompt = "t5 t6 t7"
    records = list(mlx_ifp.stream_generate(model, tok, prompt, 6, keep=KEEP, chat_template=False))
    tokens = tok.encode(prompt)
    want = tok.decode(tokens + [r.token for r in records])[len(tok.decode(tokens)) :]
    assert want.startswith(" t"), want
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0)
    kw = dict(model="tiny", prompt=prompt, max_tokens=6)
    assert client.completions.create(**kw).choices[0].text == want
    chunks = client.completions.create(**kw, stream=True)
    assert "".join(c.choices[0].text for c in chunks) == want


# ------------------------------------------------------------------ silently ignored options


def test_logit_bias_is_applied_rather_than_ignored(small):
    """``logit_bias`` (OpenAI's; mlx-lm's and llama.cpp's servers apply it) changes the reply,
    yet the server ignored it: ``{"t5": -100}`` to ban a token still gave that token. It was
    refused with a 400 from then on, and is applied since the forty-first session (see
    ``test_review_s41_openai``): the greedy first token, banned, is not the first token."""
    status, body = post(small.url, _request(PATHS[1], "t5", max_tokens=1), PATHS[1])
    assert status == 200, body
    first = body["choices"][0]["text"].strip()
    assert first.startswith("t"), body
    ban = {first[1:]: -100}
    status, body = post(small.url, _request(PATHS[1], "t5", max_tokens=1, logit_bias=ban), PATHS[1])
    assert status == 200 and body["choices"][0]["text"].strip() != first, body
    status, body = post(small.url, _request(PATHS[1], "t5", max_tokens=1, logit_bias={}), PATHS[1])
    assert status == 200 and body["choices"][0]["text"].strip() == first, body


def test_a_value_of_the_wrong_type_is_a_400_as_openai_answers(small):
    """OpenAI answers ``"max_tokens": "5"`` with 400 ``invalid_type`` ("Invalid type for
    'max_tokens': expected an integer, but got a string instead."); the server's 422 was a
    different exception in the openai client (``UnprocessableEntityError``, not the
    ``BadRequestError`` code written against OpenAI catches)."""
    client = openai.OpenAI(base_url=small.url + "/v1", api_key="none", max_retries=0)
    with pytest.raises(openai.BadRequestError) as info:
        client.completions.create(model="tiny", prompt="t5", max_tokens="5")
    assert info.value.body["code"] == "invalid_type"
