"""The session's review, forty-first session: a ``truncated`` mark that a ``{"text"}`` record
and ``--pack`` ignored, and a model that could no longer be pickled once ``lora_disabled``
had run on it."""

import pickle

from mlx_ifp.core import lora_disabled
from mlx_ifp.train.batches import pack, to_example

import mlx.core as mx
import mlx.nn as nn
from corpus import ByteTokenizer
from mlx_lm.tuner.lora import LoRALinear


def test_a_truncated_text_record_gets_no_end_of_sequence():
    tok = ByteTokenizer()
    whole = to_example({"text": "abc"}, tok, "pretrain")
    cut = to_example({"text": "abc", "truncated": True}, tok, "pretrain")
    assert whole.tokens[-1] == tok.eos_token_id
    assert cut.tokens == whole.tokens[:-1]  # was: the EOS appended to the cut text too


def test_packing_never_makes_the_next_text_a_truncated_ones_target():
    tok = ByteTokenizer()
    cut = to_example({"prompt": "hi", "completion": "abc", "truncated": True}, tok, "pretrain")
    after = to_example({"prompt": "yo", "completion": "de"}, tok, "pretrain")
    rows = pack([cut, after, after], 64)
    # the cut reply's last token predicts nothing: it ends its row (was: joined to the next
    # record, whose first token became its target, a turn's end by another name)
    assert rows[0].tokens == cut.tokens
    assert [t for r in rows for t in r.tokens] == cut.tokens + after.tokens * 2
    assert len(rows) == 2  # the others are still packed end to end


def test_a_model_whose_lora_was_switched_off_still_pickles():
    layer = LoRALinear.from_base(nn.Linear(4, 4), r=2, scale=2.0)
    layer.lora_b = mx.ones_like(layer.lora_b)
    model = nn.Sequential(layer)
    x = mx.ones((1, 4))
    with lora_disabled(model):
        off = model(x)
    on = model(x)
    back = pickle.loads(pickle.dumps(model))  # was: PicklingError (a class of no findable name)
    assert type(back.layers[0]) is LoRALinear and back.layers[0].scale == 2.0
    assert mx.allclose(back(x), on).item()
    with lora_disabled(back):
        assert mx.allclose(back(x), off).item()
    assert not mx.allclose(on, off).item()
