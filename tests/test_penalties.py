"""Repetition penalties: mlx-lm's logits processors through ``stream_generate`` and the server.

Bad values are refused in ``tests/test_bad_input.py`` (CLI and API) and below (server).
"""

import mlx_ifp
from mlx_ifp.inference import penalty_processors

import openai
import pytest
from mlx_lm import stream_generate as mlx_stream
from mlx_lm.sample_utils import make_logits_processors
from test_serve import Server, word_tokenizer
from tiny import tiny_model

PROMPT = "t5 t6 t7"


@pytest.fixture(scope="module")
def tiny():
    return tiny_model("llama"), word_tokenizer()


def ids(model, tok, n=24, **kw):
    """The greedy reply's token ids, the prompt as raw text (no chat template)."""
    kw.setdefault("keep", 0.5)
    records = mlx_ifp.stream_generate(model, tok, PROMPT, n, chat_template=False, **kw)
    return [r.token for r in records]


def test_off_values_add_no_processor():
    assert penalty_processors() == []
    assert penalty_processors(1.0, 0.0, 0.0, 5) == []
    assert len(penalty_processors(1.1, 0.5, -0.5, 5)) == 3


def test_a_strong_repetition_penalty_stops_every_repeat(tiny):
    """Seen tokens' logits are divided towards 0, so an unseen token with a positive logit wins:
    no token of the window (the prompt included) comes again."""
    model, tok = tiny
    plain = ids(model, tok)
    assert len(set(plain)) < len(plain), "the tiny model should loop without a penalty"
    out = ids(model, tok, repetition_penalty=1e6, repetition_context_size=64)
    assert len(out) == len(plain)
    assert len(set(out)) == len(out) and not set(out) & {5, 6, 7}
    # with a window of 2 only the last two tokens are barred
    short = ids(model, tok, repetition_penalty=1e6, repetition_context_size=2)
    assert all(t not in short[max(0, i - 2) : i] for i, t in enumerate(short))
    assert len(set(short)) < len(short)


@pytest.mark.parametrize("kw", [{"presence_penalty": 1.5}, {"frequency_penalty": -0.7}])
def test_penalties_match_mlx_lm_on_the_whole_prompt(tiny, kw):
    """Unpruned (keep 1.0) the reply is mlx-lm's own with the same processors, which see the
    prompt too (so a per-prompt dense prefill does not hide it from them)."""
    model, tok = tiny
    procs = make_logits_processors(**kw, presence_context_size=8, frequency_context_size=8)
    want = [
        r.token for r in mlx_stream(model, tok, tok.encode(PROMPT), 24, logits_processors=procs)
    ]
    got = ids(model, tok, keep=1.0, mask_source="griffin", repetition_context_size=8, **kw)
    assert got == want and got != ids(model, tok, keep=1.0, mask_source="griffin")


@pytest.fixture(scope="module")
def server(tiny):
    from mlx_ifp.serve.app import create_app
    from mlx_ifp.serve.registry import Registry
    from mlx_ifp.serve.schemas import Limits

    model, tok = tiny
    app = create_app(Registry(model, tok, "tiny", keep=0.5), Limits(timeout_s=30))
    s = Server(app)
    yield s
    s.stop()


def test_server_applies_the_penalties(tiny, server):
    model, tok = tiny
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0)
    extra = {"repetition_penalty": 1e6, "repetition_context_size": 64}
    r = client.completions.create(
        model="tiny", prompt=PROMPT, max_tokens=12, presence_penalty=0.5, extra_body=extra
    )
    kw = dict(presence_penalty=0.5, repetition_penalty=1e6, repetition_context_size=64)
    want = "".join(
        r.text
        for r in mlx_ifp.stream_generate(
            model, tok, PROMPT, 12, keep=0.5, chat_template=False, **kw
        )
    )
    assert r.choices[0].text == want
    words = want.split()
    assert len(words) == len(set(words))


@pytest.mark.parametrize(
    "extra, status",
    [
        ({"presence_penalty": 3}, 400),
        ({"frequency_penalty": -2.5}, 400),
        ({"repetition_penalty": 0}, 400),
        ({"repetition_penalty": "high"}, 422),
        ({"repetition_context_size": 0}, 400),
        ({"repetition_context_size": 2.5}, 422),
    ],
)
def test_server_refuses_bad_penalties(server, extra, status):
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0)
    with pytest.raises(openai.APIStatusError) as info:
        client.chat.completions.create(
            model="tiny", messages=[{"role": "user", "content": "t5"}], extra_body=extra
        )
    assert info.value.status_code == status
    assert info.value.body["param"] == next(iter(extra))
