"""OpenAI's ``logprobs`` and ``logit_bias`` in ``mlx_ifp serve`` and ``logit_bias`` in the
Python API (forty-first session): chat's ``logprobs: true`` with ``top_logprobs``, the
completions' ``logprobs: N``; before, the server refused all three with a 400.

Each reported log-probability is checked against the generator's own record of the same
greedy reply (``mlx_ifp.stream_generate``), through the openai client and a real server.
"""

import json
import re

import mlx_ifp
from mlx_ifp.serve.app import create_app
from mlx_ifp.serve.registry import Registry
from mlx_ifp.serve.schemas import Limits

import openai
import pytest
from test_serve import KEEP, Server, is_openai_error, post, word_tokenizer
from tiny import tiny_model

CHAT = [{"role": "user", "content": "t5 t6 t7"}]
PATHS = ["/v1/chat/completions", "/v1/completions"]


def request(path: str, prompt: str, **extra) -> bytes:
    body = {"model": "tiny", "max_tokens": 2, **extra}
    if path == PATHS[1]:
        return json.dumps({**body, "prompt": prompt}).encode()
    return json.dumps({**body, "messages": [{"role": "user", "content": prompt}]}).encode()


@pytest.fixture(scope="module")
def small():
    model, tok = tiny_model("llama"), word_tokenizer()
    server = Server(create_app(Registry(model, tok, "tiny", keep=KEEP), Limits(timeout_s=30)))
    server.model, server.tok = model, tok
    yield server
    server.stop()


@pytest.fixture
def client(small):
    return openai.OpenAI(base_url=small.url + "/v1", api_key="none", max_retries=0)


def expected(small, prompt, n: int, top: int) -> list[tuple[str, float, list]]:
    """(token, log-probability, the ``top`` most likely) of each reply token, by the library."""
    records = list(mlx_ifp.stream_generate(small.model, small.tok, prompt, n, keep=KEEP))
    out = []
    for r in records:
        if r.finish_reason == "stop":  # the end of the sequence: not a reply token
            continue
        lp = r.logprobs.tolist()
        best = sorted(range(len(lp)), key=lambda i: -lp[i])[:top]
        out.append(
            (small.tok.decode([r.token]), lp[r.token], [small.tok.decode([i]) for i in best])
        )
    return out


def test_chat_logprobs_are_the_generators(small, client):
    want = expected(small, CHAT, 6, 3)
    r = client.chat.completions.create(
        model="tiny", messages=CHAT, max_tokens=6, logprobs=True, top_logprobs=3
    )
    content = r.choices[0].logprobs.content
    assert [c.token for c in content] == [t for t, _, _ in want]
    assert [c.logprob for c in content] == pytest.approx([x for _, x, _ in want], abs=1e-4)
    for c, (_, x, best) in zip(content, want, strict=True):
        assert [a.token for a in c.top_logprobs] == best
        logprobs = [a.logprob for a in c.top_logprobs]
        assert logprobs == sorted(logprobs, reverse=True) and logprobs[0] == pytest.approx(x)
        assert c.bytes == list(c.token.encode())
    stream = client.chat.completions.create(
        model="tiny", messages=CHAT, max_tokens=6, logprobs=True, top_logprobs=3, stream=True
    )
    streamed = [c for ch in stream if ch.choices and ch.choices[0].logprobs
                for c in ch.choices[0].logprobs.content]  # fmt: skip
    assert [c.model_dump() for c in streamed] == [c.model_dump() for c in content]


def test_completions_logprobs_are_the_generators(small, client):
    want = expected(small, "t5 t6 t7", 5, 2)
    r = client.completions.create(model="tiny", prompt="t5 t6 t7", max_tokens=5, logprobs=2)
    lp = r.choices[0].logprobs
    assert lp.tokens == [t for t, _, _ in want]
    assert lp.token_logprobs == pytest.approx([x for _, x, _ in want], abs=1e-4)
    assert [list(d) for d in lp.top_logprobs] == [best for _, _, best in want]
    text = r.choices[0].text
    assert lp.text_offset[0] == 0 and lp.text_offset == sorted(lp.text_offset)
    assert all(
        text[o:].lstrip().startswith(t) for o, t in zip(lp.text_offset, lp.tokens, strict=True)
    )
    plain = client.completions.create(model="tiny", prompt="t5 t6 t7", max_tokens=5)
    assert plain.choices[0].logprobs is None and plain.choices[0].text == text


def test_a_stop_strings_tokens_are_not_reported(small, client):
    records = list(mlx_ifp.stream_generate(small.model, small.tok, "t5 t6 t7", 6, keep=KEEP))
    stop = records[2].text  # the third token's text: the reply is cut before it
    assert stop.strip() and stop not in records[0].text + records[1].text
    r = client.completions.create(
        model="tiny", prompt="t5 t6 t7", max_tokens=6, logprobs=0, stop=[stop]
    )
    assert r.choices[0].text == records[0].text + records[1].text
    lp = r.choices[0].logprobs
    assert lp.tokens == [small.tok.decode([x.token]) for x in records[:2]]
    assert lp.top_logprobs == [{}, {}]


@pytest.mark.parametrize(
    "path, extra, param",
    [
        (PATHS[0], {"top_logprobs": 2}, "top_logprobs"),  # without logprobs: true (OpenAI's 400)
        (PATHS[0], {"logprobs": True, "top_logprobs": 21}, "top_logprobs"),
        (PATHS[0], {"logprobs": 3}, "logprobs"),  # chat's is a boolean
        (PATHS[1], {"logprobs": 6}, "logprobs"),
        (PATHS[1], {"logprobs": True}, "logprobs"),  # the completions' is a count
        (PATHS[1], {"logprobs": 1, "echo": True}, "echo"),  # the prompt's own: not supported
    ],
)
def test_bad_logprobs_requests_are_400s(small, path, extra, param):
    status, body = post(small.url, request(path, "t5", **extra), path)
    assert status == 400 and is_openai_error(body), body
    assert body["error"]["param"] == param


@pytest.mark.real
def test_the_real_models_tokens_spell_its_reply(smollm2_dir):
    """On SmolLM2 (byte-level BPE) the reported tokens, joined, are the reply sent, an accented
    letter made of two tokens' bytes included, and a stop string's tokens are left out."""
    from mlx_ifp.serve.schemas import GenRequest

    model, tok = mlx_ifp.load("smollm2-135m-instruct")
    reg = Registry(model, tok, "smollm2")
    ask = "Write the French word for coffee, with its accent, and a coffee emoji."
    texts = []
    for stop in ([], ["!"]):
        chat = [{"role": "user", "content": ask}]
        req = GenRequest("smollm2", chat, True, max_tokens=16, logprobs=1, stop=stop)
        pieces = list(reg.generate(req))
        text, tokens = "".join(p.text for p in pieces), [t for p in pieces for t in p.logprobs]
        assert "".join(t["token"] for t in tokens) == text, (text, tokens)
        assert all(t["logprob"] <= 0 and len(t["top"]) == 1 for t in tokens)
        texts.append(text)
    assert "é" in texts[1] and texts[0].startswith(texts[1] + "!"), texts


# ------------------------------------------------------------------------------ logit_bias


def first_token(model, tok, **kw) -> int:
    *_, r = mlx_ifp.stream_generate(model, tok, "t5 t6 t7", 1, keep=KEEP, **kw)
    return r.token


@pytest.mark.parametrize("prefill", ["dense", "slim"])
def test_logit_bias_bans_and_forces_tokens_in_the_api(small, prefill):
    model, tok = small.model, small.tok
    greedy = first_token(model, tok, prefill=prefill)
    assert first_token(model, tok, prefill=prefill, logit_bias={greedy: -100}) != greedy
    assert first_token(model, tok, prefill=prefill, logit_bias={42: 100}) == 42
    assert first_token(model, tok, prefill=prefill, logit_bias={}) == greedy
    text = mlx_ifp.generate(model, tok, "t5 t6 t7", max_tokens=3, keep=KEEP, logit_bias={42: 100})
    assert text.split() == ["t42"] * 3


@pytest.mark.parametrize(
    "bias, says",
    [
        ({"5": 1.0}, "token ids"),
        ({5: 101}, "[-100, 100]"),
        ({5: float("nan")}, "[-100, 100]"),
        ({5: True}, "[-100, 100]"),
        ({-1: 1.0}, "token ids"),
        ({10**6: 1.0}, "outside the vocabulary"),
        ([5], "map token ids"),
    ],
)
def test_bad_logit_bias_is_one_line_in_the_api(small, bias, says):
    with pytest.raises(mlx_ifp.UsageError, match=re.escape(says)):
        mlx_ifp.generate(small.model, small.tok, "t5", max_tokens=1, logit_bias=bias)


def test_the_server_applies_logit_bias(small, client):
    r = client.chat.completions.create(
        model="tiny", messages=CHAT, max_tokens=2, logit_bias={"42": 100}, logprobs=True
    )
    assert r.choices[0].message.content.split() == ["t42", "t42"]
    assert r.choices[0].logprobs.content[0].logprob == pytest.approx(0, abs=1e-3)


@pytest.mark.parametrize(
    "bias, code",
    [({"x": 1}, None), ({"5": 200}, None), ({"²": 1}, None), ([1], "invalid_type")],
)
def test_bad_logit_bias_requests_are_400s(small, bias, code):
    status, body = post(small.url, request(PATHS[0], "t5", logit_bias=bias))
    assert status == 400 and body["error"]["param"] == "logit_bias", body
    assert body["error"]["code"] == code


def test_a_token_past_the_vocabulary_is_a_400(small):
    status, body = post(small.url, request(PATHS[1], "t5", logit_bias={"100000": 1}), PATHS[1])
    assert status == 400 and "outside the vocabulary" in body["error"]["message"], body
