"""More edge cases of ``mlx_ifp serve`` found in review: a lone UTF-16 surrogate in a prompt,
the leading space of a ``/v1/completions`` continuation, one ``created`` per stream, and the
``Allow`` header of a 405.

Same pattern as ``test_serve``: a tiny random llama served by a real uvicorn in a thread. Its
tokenizer is byte-level like GPT-2's: word ``tN`` is the token ``ĠtN`` (a leading space), so
mlx-lm picks its BPE streaming detokenizer, as for Llama 3, Qwen or SmolLM.
"""

import asyncio
import json
import types
import urllib.request

import mlx_ifp
from mlx_ifp.serve import app as app_module
from mlx_ifp.serve.app import create_app
from mlx_ifp.serve.registry import Registry
from mlx_ifp.serve.schemas import Limits

import openai
import pytest
from test_serve import KEEP, Server, is_openai_error, post
from tiny import tiny_model

PROMPT = "t5 t6 t7"


def spaced_tokenizer(vocab_size: int = 128):
    """Words ``t0 .. t{n-1}`` as byte-level tokens ``Ġt0 ..`` (eos ``t1``), no chat template."""
    from mlx_lm.tokenizer_utils import BPEStreamingDetokenizer, TokenizerWrapper
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    vocab = {f"Ġt{i}": i for i in range(vocab_size)}
    tok = Tokenizer(models.WordLevel(vocab, unk_token="Ġt0"))
    tok.pre_tokenizer = pre_tokenizers.Sequence(
        [
            pre_tokenizers.WhitespaceSplit(),
            pre_tokenizers.ByteLevel(add_prefix_space=True, use_regex=False),
        ]
    )
    tok.decoder = decoders.ByteLevel()
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="Ġt1")
    return TokenizerWrapper(fast, detokenizer_class=BPEStreamingDetokenizer)


@pytest.fixture(scope="module")
def served():
    model, tok = tiny_model("llama"), spaced_tokenizer()
    assert tok.encode(PROMPT) == [5, 6, 7] and tok.decode([5, 6]) == " t5 t6"
    registry = Registry(model, tok, "tiny", keep=KEEP, cache_bytes=1e6)
    server = Server(create_app(registry, Limits(max_tokens_limit=64, timeout_s=30)))
    yield server, model, tok
    server.stop()


@pytest.fixture
def client(served):
    return openai.OpenAI(base_url=served[0].url + "/v1", api_key="none", max_retries=0)


@pytest.mark.parametrize(
    "path, body",
    [
        ("/v1/chat/completions", '{"messages": [{"role": "user", "content": "t5 \\ud800"}]'),
        ("/v1/completions", '{"prompt": "t5 \\udfff t6"'),
    ],
)
def test_a_lone_surrogate_is_a_400(served, path, body):
    """JSON may escape half of a UTF-16 pair ("\\ud800"); Python decodes it to a str no
    tokenizer can encode, and the TypeError on the worker came back as a 500."""
    raw = body + ', "model": "tiny", "max_tokens": 2}'
    status, answer = post(served[0].url, raw.encode(), path)
    assert status == 400 and is_openai_error(answer), answer
    assert "surrogate" in answer["error"]["message"]
    fine = raw.replace("\\ud800", "").replace("\\udfff", "")
    assert post(served[0].url, fine.encode(), path)[0] == 200


def test_completions_keep_the_leading_space(served, client):
    """A continuation starts where the prompt ends: "The capital of France is" + " Paris". mlx-lm's
    BPE detokenizer drops the first token's space, so the server answered "isParis"."""
    _, model, tok = served
    records = list(mlx_ifp.stream_generate(model, tok, PROMPT, 6, keep=KEEP, chat_template=False))
    want = tok.decode([r.token for r in records])
    assert want.startswith(" ") and records[-1].finish_reason == "length"
    kw = dict(model="tiny", prompt=PROMPT, max_tokens=6)
    assert client.completions.create(**kw).choices[0].text == want
    chunks = client.completions.create(**kw, stream=True)
    assert "".join(c.choices[0].text for c in chunks) == want
    # no chat template: a chat sends the same raw text, continued alike (s48; a templated
    # chat's answer, a new message, starts without the space: test_review_s48_hbase.py)
    messages = [{"role": "user", "content": PROMPT}]
    chat = client.chat.completions.create(model="tiny", messages=messages, max_tokens=6)
    assert chat.choices[0].message.content == want


def test_every_chunk_of_a_stream_has_the_same_created(served, client, monkeypatch):
    """OpenAI: "Each chunk has the same timestamp"; each chunk read the clock itself, so a stream
    crossing a second boundary changed ``created`` midway."""
    clock = iter(range(1_700_000_000, 1_800_000_000))
    fake = types.SimpleNamespace(time=lambda: next(clock), monotonic=app_module.time.monotonic)
    monkeypatch.setattr(app_module, "time", fake)
    chat = client.chat.completions.create(
        model="tiny",
        messages=[{"role": "user", "content": PROMPT}],
        max_tokens=4,
        stream=True,
        stream_options={"include_usage": True},
    )
    chunks = list(chat)
    assert len(chunks) >= 6 and len({c.created for c in chunks}) == 1, chunks
    assert len({c.id for c in chunks}) == 1
    text = list(client.completions.create(model="tiny", prompt=PROMPT, max_tokens=4, stream=True))
    assert len({c.created for c in text}) == 1


def test_a_405_names_the_allowed_methods(served):
    """RFC 9110: a 405 MUST carry ``Allow``; the OpenAI-shaped error handler dropped the header
    Starlette sets (CORS preflights and HTTP clients read it)."""
    for method, path, allowed in [
        ("OPTIONS", "/v1/chat/completions", "POST"),
        ("DELETE", "/v1/models", "GET"),
    ]:
        req = urllib.request.Request(served[0].url + path, method=method)
        with pytest.raises(urllib.error.HTTPError) as info:
            urllib.request.urlopen(req, timeout=30)
        assert info.value.code == 405
        assert allowed in info.value.headers.get("Allow", ""), dict(info.value.headers)
        assert is_openai_error(json.loads(info.value.read()))


def test_top_p_zero_is_greedy(served, client):
    """OpenAI, mlx-lm and llama.cpp take ``top_p: 0`` (clients send it for a deterministic
    reply): only the most likely token, whatever the temperature; it was a 400."""
    messages = [{"role": "user", "content": PROMPT}]
    kw = dict(model="tiny", messages=messages, max_tokens=8)
    greedy = client.chat.completions.create(**kw, temperature=0).choices[0].message.content
    for seed in (1, 2):
        reply = client.chat.completions.create(**kw, temperature=1.5, top_p=0, seed=seed)
        assert reply.choices[0].message.content == greedy


def test_a_request_still_queued_when_the_server_stops_gets_503_not_400():
    """Shutting down is the server's state, not a fault of the request: retry elsewhere."""
    from mlx_ifp.serve.scheduler import Job, Scheduler

    async def main():
        sched = Scheduler()  # no worker: the job stays queued
        job = Job("a", lambda: iter(()), asyncio.get_running_loop())
        sched.submit(job)
        await asyncio.to_thread(sched.close)
        return await job.queue.get()

    kind, error = asyncio.run(main())
    assert kind == "error"
    answer = app_module._as_api_error(error)
    assert answer.status == 503 and "shutting down" in str(answer)
