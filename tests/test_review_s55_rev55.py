"""Review of eval --repick (fifty-fifth session, rev55). Nothing failed here before: these cover
what tests/test_eval_repick.py left out, the generated replies (``repicked_replies``, run with
--gen-limit) and --prefill dense with re-picked masks, against the one-mask path."""

from mlx_ifp.bench.models import synthetic_tokenizer
from mlx_ifp.evaluation import run as ev

import pytest
from corpus import ByteTokenizer, fake_corpus
from tiny import tiny_model


@pytest.fixture
def corpus(tmp_path, monkeypatch):
    return fake_corpus(tmp_path, monkeypatch)


def cfg(**kw):
    base = dict(domains=("math",), sources=("griffin",), keeps=(0.5,), modes=("input",),
                limit=3, batch_size=2)  # fmt: skip
    return ev.EvalConfig(**(base | kw))


def test_replies_past_the_reply_are_the_one_mask_replies(corpus, monkeypatch):
    """Re-picked past every reply, ``generate`` writes what the one-mask path writes, each reply
    within its item's max_tokens; re-picked every 3 tokens it runs through generate too."""
    got: dict = {}
    for name in ("generate_replies", "repicked_replies"):
        real = getattr(ev, name)
        monkeypatch.setattr(
            ev, name, lambda *a, _r=real, _n=name, **k: got.setdefault(_n, _r(*a, **k))
        )
    model, tok = tiny_model("llama"), synthetic_tokenizer(128)
    most = {"math": 7, "code": 4}
    ev.evaluate(model, tok, corpus, cfg(gen_limit=2, max_tokens=most, repick=0), progress=False)
    ev.evaluate(model, tok, corpus, cfg(gen_limit=2, max_tokens=most, repick=10**5), progress=False)
    one, long = got["generate_replies"], got["repicked_replies"]
    assert len(one) == 2 and one == long
    assert all(0 < len(tok.encode(r)) <= 7 for r in long)
    rows = ev.evaluate(model, tok, corpus, cfg(gen_limit=2, max_tokens=most, repick=3),
                       progress=False)["results"]  # fmt: skip
    assert rows[0]["repick"] == 3 and rows[0]["gen_n"] == 2


def test_dense_prefill_with_repicked_masks(corpus):
    """--prefill dense: re-picked past the reply = one mask, with prompts cut by --max-len and
    items of several lengths in a batch; re-picked every 2 tokens scores other masks."""
    model, out = tiny_model("llama"), {}
    for n in (0, 10**5, 2):
        c = cfg(limit=5, gen_limit=0, batch_size=3, max_len=40, repick=n, prefill="dense")
        with pytest.warns(UserWarning, match="truncated"):
            out[n] = ev.evaluate(model, ByteTokenizer(), corpus, c, progress=False)["results"][0]
    for key in ("nll", "kl", "top1"):
        assert out[10**5][key] == pytest.approx(out[0][key], rel=1e-5, abs=1e-6), key
    assert out[2]["kl"] != pytest.approx(out[0]["kl"], rel=1e-4)
