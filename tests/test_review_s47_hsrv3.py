"""Review (s47, `mlx_ifp serve` as OpenAI, mlx-lm and llama.cpp clients use it): requests whose
settings the server cannot honour were answered as if they had not been sent, and the answers
lacked a field all three send.

- `tool_choice: "required"` or a named function (`function_call: {"name": ...}`) without
  tools: a plain text reply, where OpenAI answers 400 ("'tool_choice' is only allowed when
  'tools' are specified") and the client asked for a tool call. `"none"` and `"auto"` ask
  nothing and are still taken.
- `modalities: ["text", "audio"]` or `audio: {...}` (OpenAI's audio output): text only.
- llama.cpp's `ignore_eos: true` (benchmarks: exactly `max_tokens` tokens), mlx-lm's server's
  `xtc_probability` > 0 (its XTC sampler) and `adapters` (a LoRA per request): ignored, so the
  reply stopped at the end-of-sequence token, sampled without XTC, or came from the base weights.
  Each is now a 400 naming the setting, as `grammar`, `tools` and `n` > 1 already were.
- `system_fingerprint` (OpenAI's, mlx-lm's and llama.cpp's servers send it in every answer and
  chunk; with `seed`, it tells a client when the backend changed): absent.

Every test here but the guard (said in its docstring) fails on the code it was written
against, for the reason in its docstring.
"""

import http.client
import json

from mlx_ifp.serve.app import create_app
from mlx_ifp.serve.registry import Registry
from mlx_ifp.serve.schemas import Limits

import openai
import pytest
from test_serve import KEEP, Server, word_tokenizer
from tiny import tiny_model

CHAT = {"model": "tiny", "messages": [{"role": "user", "content": "t5 t6 t7"}], "max_tokens": 3}
TEXT = {"model": "tiny", "prompt": "t5 t6 t7", "max_tokens": 3}


@pytest.fixture(scope="module")
def server():
    registry = Registry(tiny_model("llama"), word_tokenizer(), "tiny", keep=KEEP, cache_bytes=1e6)
    s = Server(create_app(registry, Limits(max_tokens_limit=300, timeout_s=30)))
    yield s
    s.stop()


@pytest.fixture
def client(server):
    return openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0)


def post(server, path: str, body: dict) -> tuple[int, dict | str]:
    """A raw POST: (status, the JSON body, or the event stream's text)."""
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=60)
    conn.request("POST", path, json.dumps(body), {"Content-Type": "application/json"})
    response = conn.getresponse()
    raw = response.read().decode()
    conn.close()
    stream = response.getheader("content-type", "").startswith("text/event-stream")
    return response.status, raw if stream else json.loads(raw)


REFUSED = [
    ("tool_choice", "required"),
    ("tool_choice", {"type": "function", "function": {"name": "f"}}),
    ("function_call", {"name": "f"}),
    ("modalities", ["text", "audio"]),
    ("audio", {"voice": "alloy", "format": "wav"}),
    ("ignore_eos", True),
    ("xtc_probability", 0.5),
    ("adapters", "adapters/legal"),
]


@pytest.mark.parametrize("name, value", REFUSED, ids=[f"{n}={v}" for n, v in REFUSED])
def test_settings_the_server_cannot_honour_are_a_400(server, client, name, value):
    """Each was answered 200 with a plain reply, the setting silently dropped."""
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(**CHAT, extra_body={name: value})
    err = info.value.body
    assert set(err) == {"message", "type", "param", "code"} and err["param"] == name, err
    assert name in err["message"] and "not supported" in err["message"], err
    if name in ("ignore_eos", "xtc_probability", "adapters"):  # completions' settings too
        status, body = post(server, "/v1/completions", {**TEXT, name: value})
        assert status == 400 and body["error"]["param"] == name, body


def test_values_that_ask_nothing_are_still_taken(client):
    """`tool_choice: "none"`/`"auto"`, `modalities: ["text"]`, `ignore_eos: false` and
    `xtc_probability: 0` change nothing and are answered (a guard: it passed before the fix,
    and fails if the refusals above take more than the settings that ask for something)."""
    inert = {"tool_choice": "auto", "function_call": "none", "modalities": ["text"]}
    inert.update(ignore_eos=False, xtc_probability=0, audio=None, adapters=None)
    for name, value in [*inert.items(), ("tool_choice", "none")]:
        r = client.chat.completions.create(**CHAT, extra_body={name: value})
        assert r.choices[0].message.content is not None, (name, r)


def test_every_answer_has_a_system_fingerprint(server, client):
    """Chat and completions, whole and streamed (every chunk, the usage one too), one value:
    before, no answer had the field (the client read None)."""
    chat = client.chat.completions.create(**CHAT)
    text = client.completions.create(**TEXT)
    fingerprint = chat.system_fingerprint
    assert isinstance(fingerprint, str) and fingerprint, chat
    assert text.system_fingerprint == fingerprint and "mlx_ifp" in fingerprint, text
    for path, body in (("/v1/chat/completions", CHAT), ("/v1/completions", TEXT)):
        status, raw = post(server, path, {**body, "stream": True, "stream_options": {
            "include_usage": True}})  # fmt: skip
        chunks = [json.loads(x) for x in raw.split("data: ")[1:] if x.strip() != "[DONE]"]
        assert status == 200 and len(chunks) >= 3, raw
        assert all(c["system_fingerprint"] == fingerprint for c in chunks), chunks
