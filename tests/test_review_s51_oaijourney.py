"""Review (s51, `mlx_ifp serve` driven with the `openai` client and curl, as users of the OpenAI
API, llama.cpp's server and `mlx_lm.server` do):

- A request with `stop` streamed every piece of the reply **late by the longest stop string's
  length less one character**, whatever the text: with `stop: ["\\n\\nUser:"]` each chunk held
  back its last 6 characters (`"e followin"`, `"g i"`), so chunks no longer matched tokens
  (and their `logprobs` the text a chunk carried), and a UI showed the reply behind the model.
  llama.cpp's server and `mlx_lm.server` hold back only a tail that could start a stop string;
  now this server does too (a tail that begins a stop string is still held, never sent).
- A request without `model` (llama.cpp's server's and `mlx_lm.server`'s clients leave it out:
  both serve their one model) was **a 400 "'model' is required"**. Now it is the served base
  model, answered under its id; a `model` given is checked as before (a 404 if not served).

- `logprobs: true` on a float16 model whose logits overflow (a repetition penalty near its
  floor): NaN / -inf log-probabilities made the plain answer **a 500** (Starlette's JSON refuses
  them) and the stream **not JSON** (`NaN`, `-Infinity`). Now they are OpenAI's -9999.0.

Every test here but the guards (said in their docstrings) fails on the code it was written
against, for the reason in its docstring.
"""

import json

import mlx_ifp  # noqa: F401  (before mlx.core: the optimized BLAS)
from mlx_ifp.serve.app import create_app
from mlx_ifp.serve.registry import Registry
from mlx_ifp.serve.schemas import Limits, StopFilter

import mlx.core as mx
import pytest
from test_review_s44_serve import sse_events as events
from test_review_s44_serve2 import call
from test_serve import KEEP, Server, word_tokenizer
from tiny import tiny_model

TEXT = {"model": "tiny", "prompt": "t5 t6 t7", "max_tokens": 12, "temperature": 0}
CHAT = {"model": "tiny", "messages": [{"role": "user", "content": "t5 t6 t7"}], "max_tokens": 4}


@pytest.fixture(scope="module")
def server():
    registry = Registry(tiny_model("llama"), word_tokenizer(), "tiny", keep=KEEP, cache_bytes=1e6)
    s = Server(create_app(registry, Limits(max_tokens_limit=300, timeout_s=30)))
    yield s
    s.stop()


def _pieces(server, path: str, body: dict) -> list[str]:
    status, _, raw = call(server, "POST", path, {**body, "stream": True})
    assert status == 200, raw
    chunks = events(raw)
    assert chunks[-1] == "[DONE]"
    return [c["choices"][0]["text"] for c in chunks[:-1] if c["choices"]]


def test_a_stop_string_that_never_starts_holds_nothing_back(server):
    """With ``stop: ["zzzz"]`` (no ``z`` in any of the tiny model's words) every chunk was cut 3
    characters short and the rest sent with the next: the chunks differed from those of the
    same request without ``stop``."""
    plain = _pieces(server, "/v1/completions", TEXT)
    stopped = _pieces(server, "/v1/completions", {**TEXT, "stop": ["zzzz"]})
    assert len([p for p in plain if p]) >= 3  # (a reply of several words)
    assert stopped == plain


def test_a_stop_string_holds_back_only_a_tail_that_could_start_it():
    """Unit form of the above: text that cannot begin a stop string is sent at once."""
    f = StopFilter(["6, 7", "END"])
    assert f.push(" 4") == (" 4", False)  # was ("", False): held back
    assert f.push(",") == (",", False)
    assert f.push(" 6") == (" ", False)  # " 6" may start "6, 7": " " goes, "6" is held
    assert f.push(", 8") == ("6, 8", False)
    assert f.push(" E") == (" ", False)
    assert f.push("NDx") == ("", True)


def test_a_stop_string_split_over_chunks_is_still_cut_whole():
    """Guard: a stop string spread over several pushes is never sent in part."""
    f, out = StopFilter(["\n\nUser:"]), []
    for piece in ["Hi", " there", ".\n", "\nUs", "er", ": more"]:
        text, hit = f.push(piece)
        out.append(text)
        if hit:
            break
    assert "".join(out) == "Hi there." and hit


@pytest.mark.parametrize("path,body", [("/v1/chat/completions", CHAT), ("/v1/completions", TEXT)])
def test_a_request_without_model_is_served_by_the_base_model(server, path, body):
    """llama.cpp's server and mlx_lm.server serve a request that names no model; this server
    answered 400 "'model' is required"."""
    body = {k: v for k, v in body.items() if k != "model"}
    status, _, answer = call(server, "POST", path, body)
    assert status == 200, answer
    assert answer["model"] == "tiny" and answer["usage"]["completion_tokens"] >= 1
    status, _, answer = call(server, "POST", path, {**body, "model": None, "stream": True})
    assert status == 200 and events(answer)[0]["model"] == "tiny"


def test_a_model_given_is_still_checked(server):
    """Guard: a model that is not served stays a 404, a non-string a 400."""
    assert call(server, "POST", "/v1/chat/completions", {**CHAT, "model": "gpt-4"})[0] == 404
    status, _, answer = call(server, "POST", "/v1/chat/completions", {**CHAT, "model": 5})
    assert status == 400 and answer["error"]["param"] == "model"


def _strict(raw: bytes | str):
    def refuse(name):
        raise ValueError(f"not JSON: {name}")

    return json.loads(raw, parse_constant=refuse)


@pytest.fixture(scope="module")
def half_server():
    model = tiny_model("llama")
    model.set_dtype(mx.float16)  # a float16 model: its logits overflow where float32's do not
    mx.eval(model.parameters())  # (made here, not lazily on the server's worker thread)
    registry = Registry(model, word_tokenizer(), "tiny", keep=KEEP, cache_bytes=1e6)
    s = Server(create_app(registry, Limits(max_tokens_limit=300, timeout_s=30)))
    yield s
    s.stop()


@pytest.mark.parametrize("stream", [False, True])
def test_log_probabilities_that_overflow_are_sent_as_json(half_server, stream):
    """A float16 model with a repetition penalty near its floor (1e-30: the repeated prompt
    word's logit overflows) gave NaN and -inf log-probabilities: the plain answer was **a 500
    "internal error while generating"** (Starlette's JSON refuses them, a traceback logged),
    the stream sent ``NaN`` / ``-Infinity``, which no strict JSON parser reads. Now such a value
    is OpenAI's -9999.0 ("very unlikely")."""
    body = {"model": "tiny", "messages": [{"role": "user", "content": "t5 t5 t5 t6"}]}
    body.update(max_tokens=4, logprobs=True, top_logprobs=5, repetition_penalty=1e-30)
    status, _, raw = call(half_server, "POST", "/v1/chat/completions", {**body, "stream": stream})
    assert status == 200, raw
    if stream:
        text = raw.decode() if isinstance(raw, bytes) else json.dumps(raw)
        lines = [x[6:] for x in text.split("\n") if x.startswith("data: ") and x != "data: [DONE]"]
        chosen = [c for x in lines for c in _strict(x)["choices"] if c.get("logprobs")]
        content = [t for c in chosen for t in c["logprobs"]["content"]]
    else:
        content = _strict(json.dumps(raw, allow_nan=True))["choices"][0]["logprobs"]["content"]
    values = [t["logprob"] for t in content] + [
        x["logprob"] for t in content for x in t["top_logprobs"]
    ]
    assert content and all(-9999.0 <= v <= 0 for v in values), values
