"""Review (s46): a message list that ends with an assistant message (an assistant prefill).

``mlx_ifp generate --prefill-response TEXT`` continues the reply's start (the chat template
applied with ``continue_final_message``, as ``mlx_lm generate``'s flag); the Python API and
``mlx_ifp serve`` did not: a final assistant message was taken for a finished turn and a new
one was opened after it (llama.cpp's server, and Anthropic-style clients, continue it;
mlx_lm.server 0.32.2 does not, it always adds the generation prompt). Now:

- ``mlx_ifp.generate/stream_generate(model, tok, [..., {"role": "assistant", "content": S}])``
  continues S (the returned text is only the continuation) and the mask source reads the
  prompt as sent, S included (as ``--prefill-response``); an empty final assistant message
  opens the reply (llama.cpp: nothing prefilled). It was a closed turn, then a new one.
- A chat template that cannot continue it (one that drops or rewrites the assistant's text)
  is one ``UsageError`` line; it generated after a prompt that had lost the prefill.
- ``POST /v1/chat/completions`` with such messages: the same continuation (a 400 for such a
  template), its first token's space kept as a ``/v1/completions`` continuation keeps it
  (llama.cpp's: "is" + " Paris"); it opened a new turn.

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import json

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp.serve.app import create_app
from mlx_ifp.serve.registry import Registry
from mlx_ifp.serve.schemas import Limits

import numpy as np
import pytest
from test_serve import KEEP, Server, is_openai_error, post, word_tokenizer
from test_serve_edges2 import spaced_tokenizer
from tiny import endless_tokenizer, tiny_model

#: user turns "t2 TEXT", assistant turns "t3 TEXT t4", the generation prompt "t3"
ROLES = (
    "{% for m in messages %}{{ 't2' if m.role == 'user' else 't3' }} {{ m.content }} "
    "{% if m.role == 'assistant' %}t4 {% endif %}{% endfor %}"
    "{% if add_generation_prompt %}t3 {% endif %}"
)
#: a template that writes the user turns only: it cannot continue an assistant's text
USERS_ONLY = (
    "{% for m in messages %}{% if m.role == 'user' %}t2 {{ m.content }} {% endif %}{% endfor %}"
    "{% if add_generation_prompt %}t3 {% endif %}"
)
USER = {"role": "user", "content": "t5 t6 t7"}
PREFILLED = [USER, {"role": "assistant", "content": "t8 t9"}]
SENT = "t2 t5 t6 t7 t3 t8 t9"  # the prompt as sent: the assistant's turn left open
G = dict(mask_source="griffin", keep=KEEP, max_tokens=4)


@pytest.fixture(scope="module")
def model():
    return tiny_model("llama")


def tokenizer(template: str, words=endless_tokenizer):
    tok = words()
    tok._tokenizer.chat_template = template
    return tok


def run(model, tok, prompt, **kw):
    records = list(mlx_ifp.stream_generate(model, tok, prompt, **{**G, **kw}))
    return "".join(r.text for r in records), records[-1]


@pytest.mark.parametrize("prefill", ["slim", "dense"])
def test_a_final_assistant_message_is_continued(model, prefill):
    """The reply continued a closed turn: the prompt was "t2 t5 t6 t7 t3 t8 t9 t4 t3" (9
    tokens), and the mask read the first user turn alone. Now the prompt is the text as sent
    with the assistant's turn open (7 tokens) and the reply, mask included, is the one to
    those tokens sent as ids (which the mask reads whole)."""
    tok = tokenizer(ROLES)
    ids = tok.encode(SENT)
    text, last = run(model, tok, PREFILLED, prefill=prefill)
    assert last.prompt_tokens == len(ids) == 7, last.prompt_tokens
    raw, raw_last = run(model, tok, ids, prefill=prefill)
    assert text == raw, (text, raw)
    assert np.array_equal(np.array(last.prune.mask.indices), np.array(raw_last.prune.mask.indices))
    assert mlx_ifp.generate(model, tok, PREFILLED, **G) == run(model, tok, PREFILLED)[0]


def test_an_empty_final_assistant_message_opens_the_reply(model):
    """``{"role": "assistant", "content": ""}`` last: a closed empty turn and a new one were
    sent ("... t3 t4 t3"); now nothing is prefilled, as llama.cpp's server: the reply to the
    user message alone."""
    tok = tokenizer(ROLES)
    empty = [USER, {"role": "assistant", "content": " "}]
    (text, last), (plain, plain_last) = run(model, tok, empty), run(model, tok, [USER])
    assert last.prompt_tokens == plain_last.prompt_tokens == 5 and text == plain


def test_a_template_that_cannot_continue_it_is_refused(model):
    """A template that drops the assistant's text: the reply was generated after a prompt that
    had lost the prefill, silently. Now one line, before any work."""
    tok = tokenizer(USERS_ONLY)
    with pytest.raises(mlx_ifp.UsageError, match="cannot continue the final assistant") as e:
        run(model, tok, PREFILLED)
    assert "\n" not in str(e.value)
    assert run(model, tok, [USER])[1].prompt_tokens == 5  # a user turn last: as before


@pytest.fixture(scope="module")
def server(model):
    servers = []
    for template, words in ((ROLES, word_tokenizer), (USERS_ONLY, word_tokenizer),
                           (ROLES, spaced_tokenizer)):  # fmt: skip
        tok = tokenizer(template, words)
        registry = Registry(model, tok, "tiny", keep=KEEP, cache_bytes=1e6)
        servers.append(Server(create_app(registry, Limits(max_tokens_limit=64, timeout_s=30))))
    yield servers
    for s in servers:
        s.stop()


@pytest.mark.parametrize("which, words", [(0, word_tokenizer), (2, spaced_tokenizer)])
def test_the_server_continues_a_final_assistant_message(server, which, words):
    """``POST /v1/chat/completions`` with an assistant message last: a new turn was opened
    (prompt_tokens 9). Now the reply continues it, as llama.cpp's server: the text is the
    continuation alone, as the completion of the same tokens; with a byte-level tokenizer
    ("Ġt25") it starts with the space mlx-lm's detokenizer drops (it was "t9t25")."""
    chat = {"model": "tiny", "messages": PREFILLED, "max_tokens": 4}
    status, body = post(server[which].url, json.dumps(chat).encode())
    assert status == 200, body
    assert body["usage"]["prompt_tokens"] == 7, body["usage"]
    plain = {"model": "tiny", "prompt": words().encode(SENT), "max_tokens": 4}
    status, done = post(server[which].url, json.dumps(plain).encode(), "/v1/completions")
    assert status == 200, done
    assert body["choices"][0]["message"]["content"] == done["choices"][0]["text"]
    assert done["choices"][0]["text"].startswith(" ") == (words is spaced_tokenizer)


def test_the_server_refuses_a_template_that_cannot_continue_it(server):
    """The same request to a model whose template drops the assistant's text: a 200 whose reply
    followed a prompt without the prefill. Now a 400 in OpenAI's error shape."""
    chat = {"model": "tiny", "messages": PREFILLED, "max_tokens": 2}
    status, body = post(server[1].url, json.dumps(chat).encode())
    assert status == 400 and is_openai_error(body), body
    assert "cannot continue the final assistant" in body["error"]["message"]
