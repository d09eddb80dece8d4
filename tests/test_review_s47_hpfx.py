"""Review (s47): an assistant prefill's reply lost its first token's leading space.

``mlx_ifp.generate(model, tok, [user, {"role": "assistant", "content": "It is"}])`` gave
``'a French capital...'`` on SmolLM2: mlx-lm's streaming detokenizers drop the space of a
reply's first token (" a"), so an app joining prefill and reply read "It isa". ``mlx_ifp serve``
already put it back (``/v1/completions`` and a prefilled chat, as llama.cpp's server); the
Python API (``generate``, ``stream_generate``) and ``generate --prefill-response`` did not
(``mlx_lm generate --prefill-response`` drops it too). Now one mechanism
(``core.spaced_reply``) serves all three: the reply's text is what ``tokenizer.decode`` gives
for the prompt and reply after the prompt's own text, its first streamed piece carrying the
space; a reply that continues nothing (a user turn last, token ids) keeps mlx-lm's text (a
raw prompt, ``chat_template=False``, continues its text since s48: test_review_s48_hraw.py).

Every test here fails on the code it was written against, for the reason in its docstring,
but the parity guards, marked so.
"""

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp.cli import app

import mlx_lm
import pytest
from test_review_s34_serve import spm_tokenizer
from test_serve_edges2 import spaced_tokenizer
from tiny import tiny_model
from typer.testing import CliRunner

#: user turns "t2 TEXT", assistant turns "t3 TEXT t4", the generation prompt "t3"
ROLES = (
    "{% for m in messages %}{{ 't2' if m.role == 'user' else 't3' }} {{ m.content }} "
    "{% if m.role == 'assistant' %}t4 {% endif %}{% endfor %}"
    "{% if add_generation_prompt %}t3 {% endif %}"
)
USER = {"role": "user", "content": "t5 t6 t7"}
PREFILLED = [USER, {"role": "assistant", "content": "t8 t9"}]
SENT = "t2 t5 t6 t7 t3 t8 t9"  # the prompt as sent: the assistant's turn left open
G = dict(mask_source="griffin", keep=0.5, max_tokens=4)
WORDS = {"byte-level": spaced_tokenizer, "sentencepiece": spm_tokenizer}


@pytest.fixture(scope="module")
def model():
    return tiny_model("llama")


def tokenizer(words):
    tok = WORDS[words]()
    tok._tokenizer.chat_template = ROLES
    return tok


def continuation(tok, prompt: list[int], reply: list[int]) -> str:
    """What an app joining the prompt's text and the reply must get: the decoded whole, after
    the prompt's own decoded text."""
    return tok.decode(prompt + reply)[len(tok.decode(prompt)) :]


@pytest.mark.parametrize("words", WORDS)
def test_a_prefilled_reply_keeps_its_leading_space(model, words):
    """``generate``/``stream_generate`` on messages that end with the reply's start: "t25 ..."
    where the tokens read " t25 ..." (prefill + reply: "t9t25"); now the space is there, on the
    first streamed piece, and the text is the decoded continuation."""
    tok = tokenizer(words)
    records = list(mlx_ifp.stream_generate(model, tok, PREFILLED, **G))
    text = "".join(r.text for r in records)
    want = continuation(tok, tok.encode(SENT), [r.token for r in records])
    assert want.startswith(" t"), want
    assert text == want, (text, want)
    assert next(r.text for r in records if r.text).startswith(" ")  # the first piece carries it
    assert mlx_ifp.generate(model, tok, PREFILLED, **G) == want


@pytest.mark.parametrize("words", WORDS)
def test_a_reply_that_continues_nothing_keeps_mlx_lm_text(model, words):
    """Parity guard (passes before and after): a user turn last and token ids give mlx-lm's
    text, the first token's space dropped as ``mlx_lm.stream_generate`` drops it (a raw prompt
    did too until s48, which keeps it: ``test_review_s48_hraw.py``)."""
    tok = tokenizer(words)
    full = dict(G, keep=1.0)  # nothing pruned: the very model mlx-lm runs
    opened = tok.apply_chat_template([USER], tokenize=False, add_generation_prompt=True)
    for prompt, ids in (([USER], tok.encode(opened)), (tok.encode(SENT), tok.encode(SENT))):
        ours = list(mlx_ifp.stream_generate(model, tok, prompt, **full))
        theirs = list(mlx_lm.stream_generate(model, tok, ids, max_tokens=4))
        assert [r.token for r in ours] == [r.token for r in theirs]
        assert "".join(r.text for r in ours) == "".join(r.text for r in theirs)
        assert not ours[0].text.startswith(" "), ours[0].text


def test_generate_prefill_response_keeps_the_leading_space(model, monkeypatch):
    """``mlx_ifp generate --prefill-response "t8 t9"``: the printed reply was "t25 ..." (the
    prefill and reply read "t9t25"); now " t25 ...", the API's text for the same messages."""
    tok = tokenizer("byte-level")
    monkeypatch.setattr(mlx_ifp, "load", lambda *a, **k: (model, tok))
    args = ["-p", "t5 t6 t7", "--prefill-response", "t8 t9", "-m", "4", "--keep", "0.5"]
    run = CliRunner().invoke(app, ["generate", *args, "--mask-source", "griffin", "--quiet"])
    assert run.exit_code == 0, run.output
    reply = run.stdout.removesuffix("\n")
    assert reply == mlx_ifp.generate(model, tok, PREFILLED, **G), reply
    assert reply.startswith(" t"), reply


@pytest.mark.real
def test_smollm2_prefill_reads_as_one_text():
    """The brief's case on the embedded SmolLM2: "It is" + "a French capital..." read
    "It isa"; now the reply starts " a", and prefill + reply is the decoded whole."""
    model, tok = mlx_ifp.load("smollm2-135m-instruct")
    chat = [{"role": "user", "content": "What is the capital of France?"}]
    prefilled = [*chat, {"role": "assistant", "content": "It is"}]
    records = list(mlx_ifp.stream_generate(model, tok, prefilled, 6))
    text = "".join(r.text for r in records)
    sent = tok.encode(mlx_ifp.core.format_chat(tok, prefilled), add_special_tokens=False)
    assert text == continuation(tok, sent, [r.token for r in records]), text
    assert text.startswith(" "), text
    plain = mlx_ifp.generate(model, tok, chat, max_tokens=6)  # a normal reply: untouched
    assert plain == "The capital of France is Paris", plain
