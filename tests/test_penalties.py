"""Repetition penalties: mlx-lm's logits processors through ``stream_generate`` and the server.

Bad values are refused in ``tests/test_bad_input.py`` (CLI and API) and below (server).
"""

import mlx_ifp
from mlx_ifp.inference import MAX_WINDOW, penalty_processors
from mlx_ifp.serve.schemas import MAX_WINDOW as served_window

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


@pytest.mark.parametrize("prefill", ["dense", "slim"])
def test_a_strong_repetition_penalty_stops_every_repeat(tiny, prefill):
    """Seen tokens' logits are divided towards 0, so an unseen token with a positive logit wins:
    no token of the window (the prompt included, after a dense prefill too) comes again."""
    model, tok = tiny
    plain = ids(model, tok, prefill=prefill)
    assert len(set(plain)) < len(plain), "the tiny model should loop without a penalty"
    out = ids(model, tok, prefill=prefill, repetition_penalty=1e6, repetition_context_size=64)
    assert len(out) == len(plain)
    assert len(set(out)) == len(out) and not set(out) & {5, 6, 7}
    # with a window of 2 only the last two tokens are barred
    short = ids(model, tok, prefill=prefill, repetition_penalty=1e6, repetition_context_size=2)
    assert all(t not in short[max(0, i - 2) : i] for i, t in enumerate(short))
    assert len(set(short)) < len(short)


@pytest.mark.parametrize("prefill", ["dense", "slim"])
@pytest.mark.parametrize("kw", [{"presence_penalty": 1.5}, {"frequency_penalty": -0.7}])
def test_penalties_match_mlx_lm_on_the_whole_prompt(tiny, kw, prefill):
    """Unpruned (keep 1.0) the reply is mlx-lm's own with the same processors over the whole
    prompt, whether the prompt ran through mlx-lm (slim) or through a dense prefill before it."""
    model, tok = tiny
    procs = make_logits_processors(**kw, presence_context_size=8, frequency_context_size=8)
    prompt = tok.encode(PROMPT)
    want = [r.token for r in mlx_stream(model, tok, prompt, 24, logits_processors=procs)]
    got = ids(model, tok, keep=1.0, prefill=prefill, repetition_context_size=8, **kw)
    assert got == want and got != ids(model, tok, keep=1.0, prefill=prefill)


def test_user_processors_run_with_the_penalties(tiny):
    model, tok = tiny
    seen = []

    def spy(tokens, logits):
        seen.append(tokens.size)
        return logits

    kw = dict(keep=1.0, repetition_penalty=1e6, repetition_context_size=64)
    got = ids(model, tok, logits_processors=[spy], **kw)
    assert got == ids(model, tok, prefill="slim", **kw)
    assert seen[:2] == [3, 4]  # the whole prompt, then one token more each step


def test_the_window_bound_is_the_servers():
    assert MAX_WINDOW == served_window
    from mlx_ifp.inference.sampling import TINY
    from mlx_ifp.serve.schemas import TINY as served_tiny

    assert TINY == served_tiny
    with pytest.raises(mlx_ifp.UsageError, match="repetition_context_size must be"):
        penalty_processors(1.1, repetition_context_size=MAX_WINDOW + 1)
    assert penalty_processors(1.1, None, None, MAX_WINDOW)  # None is off, as 0


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


@pytest.mark.parametrize(
    "kw",
    [
        {"presence_penalty": 2.0},
        {"frequency_penalty": 2.0},
        {"repetition_penalty": 1e6, "repetition_context_size": 2},
    ],
)
def test_server_applies_each_penalty(tiny, server, kw):
    """Each parameter on its own changes the reply, and the server's reply (plain and streamed)
    is the library's with it."""
    model, tok = tiny

    def library(**k):
        records = mlx_ifp.stream_generate(model, tok, PROMPT, 16, chat_template=False, **k)
        return "".join(r.text for r in records)

    want = library(keep=0.5, **kw)
    assert want != library(keep=0.5)
    if "repetition_context_size" in kw:  # the window matters here
        assert want != library(keep=0.5, **{**kw, "repetition_context_size": 20})
    client = openai.OpenAI(base_url=server.url + "/v1", api_key="none", max_retries=0)
    openai_kw = {k: v for k, v in kw.items() if k in ("presence_penalty", "frequency_penalty")}
    extra = {k: v for k, v in kw.items() if k not in openai_kw}
    ask = dict(model="tiny", prompt=PROMPT, max_tokens=16, extra_body=extra, **openai_kw)
    reply = client.completions.create(**ask)
    assert reply.choices[0].text == want
    chunks = client.completions.create(stream=True, **ask)
    assert "".join(c.choices[0].text for c in chunks if c.choices) == want


@pytest.mark.parametrize(
    "extra, status",
    [
        ({"presence_penalty": 3}, 400),
        ({"frequency_penalty": -2.5}, 400),
        ({"repetition_penalty": 0}, 400),
        ({"repetition_penalty": "high"}, 400),
        ({"repetition_context_size": 0}, 400),
        ({"repetition_context_size": 2**40}, 400),
        ({"repetition_context_size": 2.5}, 400),
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
