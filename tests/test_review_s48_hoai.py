"""Review (s48, `mlx_ifp serve` as the openai client uses it): settings that ask for what the
server cannot give were answered as if they had not been sent.

- OpenAI's `reasoning_effort` (how long a reasoning model thinks), `web_search_options` (a
  web search before the reply) and `verbosity` other than `"medium"` (a shorter or longer
  reply): a plain reply, where OpenAI answers 400 for a model that cannot honour them
  ("Unsupported parameter: 'reasoning_effort' is not supported with this model").

Every test here but the guard (said in its docstring) fails on the code it was written
against, for the reason in its docstring.
"""

from mlx_ifp.serve.app import create_app
from mlx_ifp.serve.registry import Registry
from mlx_ifp.serve.schemas import Limits

import openai
import pytest
from test_serve import KEEP, Server, word_tokenizer
from tiny import tiny_model

CHAT = {"model": "tiny", "messages": [{"role": "user", "content": "t5 t6 t7"}], "max_tokens": 3}


@pytest.fixture(scope="module")
def client():
    registry = Registry(tiny_model("llama"), word_tokenizer(), "tiny", keep=KEEP, cache_bytes=1e6)
    s = Server(create_app(registry, Limits(max_tokens_limit=300, timeout_s=30)))
    yield openai.OpenAI(base_url=s.url + "/v1", api_key="none", max_retries=0)
    s.stop()


ASKS = [
    ("reasoning_effort", "low"),
    ("reasoning_effort", "none"),
    ("web_search_options", {}),
    ("web_search_options", {"search_context_size": "low"}),
    ("verbosity", "low"),
]


@pytest.mark.parametrize("name, value", ASKS, ids=[f"{n}={v}" for n, v in ASKS])
def test_settings_the_server_cannot_honour_are_a_400(client, name, value):
    """Each was answered 200 with a plain reply, the setting silently dropped."""
    with pytest.raises(openai.BadRequestError) as info:
        client.chat.completions.create(**CHAT, **{name: value})
    err = info.value.body
    assert set(err) == {"message", "type", "param", "code"} and err["param"] == name, err
    assert name in err["message"] and "not supported" in err["message"], err


def test_values_that_ask_nothing_are_still_taken(client):
    """`verbosity: "medium"` (the default) and the settings left null change nothing (a guard:
    it passed before the fix)."""
    for extra in ({"verbosity": "medium"}, {"reasoning_effort": None, "web_search_options": None}):
        r = client.chat.completions.create(**CHAT, extra_body=extra)
        assert r.choices[0].message.content is not None, extra
