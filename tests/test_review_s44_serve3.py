"""Forty-fourth session review of ``mlx_ifp serve``'s ``/v1/completions`` (third part):

- ``prompt`` as token ids (OpenAI's list of ints, which llama-server and mlx-lm's server take)
  was a 400, though ``mlx_ifp.stream_generate`` takes token ids: one prompt's ids are now
  sent as they are (the mask read off them, as the library does), an id past the vocabulary is
  a 400 naming ``prompt``, and a batch of prompts is still a clear 400;
- with ``logprobs`` and a ``stop`` string, a token whose text begins before the cut (``" t17"``
  with ``stop: "t17"``: its space was sent) was still reported; only the tokens whose text was
  wholly sent are now (llama-server too drops a stop word's tokens).

Same pattern as ``test_serve``: a tiny random llama with a word-level tokenizer, served by a
real uvicorn in a thread, driven with raw HTTP requests.
"""

import http.client
import json

import mlx_ifp
from mlx_ifp.serve.app import create_app
from mlx_ifp.serve.registry import Registry
from mlx_ifp.serve.schemas import Limits

import pytest
from test_review_s44_serve import sse_events as events
from test_serve import KEEP, Server, word_tokenizer
from tiny import tiny_model

VOCAB = 128  # the word tokenizer's and the tiny model's


@pytest.fixture(scope="module")
def server():
    model, tok = tiny_model("llama"), word_tokenizer()
    assert model.args.vocab_size == VOCAB
    s = Server(create_app(Registry(model, tok, "tiny", keep=KEEP), Limits(timeout_s=30)))
    s.model, s.tok = model, tok
    yield s
    s.stop()


def complete(server, **body):
    """(status, parsed JSON body) of a ``/v1/completions`` request for the tiny model."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    headers = {"Content-Type": "application/json"}
    conn.request("POST", "/v1/completions", json.dumps({"model": "tiny", **body}), headers)
    response = conn.getresponse()
    raw = response.read()
    conn.close()
    return response.status, raw if body.get("stream") else json.loads(raw)


def test_a_prompt_of_token_ids_is_generated_from_as_the_text_it_spells(server):
    """``[5, 6, 7]`` is ``"t5 t6 t7"``'s tokens: the same reply, usage and mask; streamed too."""
    ids = server.tok.encode("t5 t6 t7")
    assert ids == [5, 6, 7]
    status, text = complete(server, prompt="t5 t6 t7", max_tokens=4, logprobs=1)
    assert status == 200, text
    for prompt in (ids, [ids]):  # one prompt's ids, or a batch of that one prompt
        status, out = complete(server, prompt=prompt, max_tokens=4, logprobs=1)
        assert status == 200, out
        assert out["choices"][0]["text"] == text["choices"][0]["text"]
        assert out["choices"][0]["logprobs"] == text["choices"][0]["logprobs"]
        assert out["usage"] == text["usage"] and out["usage"]["prompt_tokens"] == 3
        assert {k: v for k, v in out["mlx_ifp"].items() if k != "cache_hit"} == {
            k: v for k, v in text["mlx_ifp"].items() if k != "cache_hit"
        }
    records = list(mlx_ifp.stream_generate(server.model, server.tok, ids, 4, keep=KEEP))
    assert "".join(r.text for r in records).strip() == text["choices"][0]["text"].strip()
    status, raw = complete(server, prompt=ids, max_tokens=4, stream=True)
    assert status == 200
    streamed = "".join(e["choices"][0]["text"] for e in events(raw)[:-1] if e["choices"])
    assert streamed == text["choices"][0]["text"]


@pytest.mark.parametrize(
    "prompt, says",
    [
        ([5, VOCAB], f"token id {VOCAB}, outside the model's vocabulary [0, {VOCAB})"),
        ([5, 10**30], "outside the model's vocabulary"),
        ([5, -1], "list of token ids"),
        ([5, True], "list of token ids"),
        ([5, 1.5], "list of token ids"),
        ([5, "t6"], "list of token ids"),
        ([], "is empty"),
        ([[]], "is empty"),
        ([[5, 6], [7]], "holds 2 prompts"),
        (["t5", "t6"], "holds 2 prompts"),
    ],
)
def test_bad_token_id_prompts_are_400s_naming_the_prompt(server, prompt, says):
    status, out = complete(server, prompt=prompt, max_tokens=2)
    assert status == 400, out
    assert out["error"]["param"] == "prompt" and says in out["error"]["message"], out


def test_the_logprobs_cover_only_the_tokens_wholly_sent_before_a_stop_string(server):
    """The stop string is the third token's text without its leading space: the space is sent,
    but the token is cut by the stop string, so it is not reported (streamed or not)."""
    status, whole = complete(server, prompt="t5 t6 t7", max_tokens=6, logprobs=1)
    text, lp = whole["choices"][0]["text"], whole["choices"][0]["logprobs"]
    start, end = lp["text_offset"][2:4]
    third = text[start:end]  # the third token's text in the reply: " t17"
    stop = third.lstrip()
    assert third.startswith(" ") and stop and stop not in text[:start]
    head = text[:start]
    status, cut = complete(server, prompt="t5 t6 t7", max_tokens=6, logprobs=1, stop=stop)
    assert status == 200, cut
    assert cut["choices"][0]["text"] == head + " " and cut["choices"][0]["finish_reason"] == "stop"
    got = cut["choices"][0]["logprobs"]
    assert got["tokens"] == lp["tokens"][:2] and got["text_offset"] == lp["text_offset"][:2]
    assert got["token_logprobs"] == lp["token_logprobs"][:2]
    status, raw = complete(server, prompt="t5 t6 t7", max_tokens=6, logprobs=1, stop=stop,
                           stream=True)  # fmt: skip
    chunks = [e["choices"][0] for e in events(raw)[:-1] if e["choices"]]
    assert "".join(c["text"] for c in chunks) == head + " "
    assert [t for c in chunks if c["logprobs"] for t in c["logprobs"]["tokens"]] == got["tokens"]
