"""Review (s45): copying a model after GRIFFIN has read it.

- ``mlx_ifp.generate(model, tok, ..., mask_source="griffin")``, then ``copy.deepcopy(model)``
  (what users do to keep a pristine copy): ``TypeError: cannot pickle 'function' object``. The
  first masked or observed forward wraps each FFN in a ``MaskableFFN`` holding its architecture's
  ``FFNSpec``, whose ``glu`` is mlx-lm's ``swiglu``, an ``mx.compile``'d function that cannot be
  copied. The slim models picked from such a model (``select``) held the same wrappers.
- ``mlx_ifp.finetune(cfg, model=model)`` with ``train: full`` after a generate on that model:
  the same TypeError at the start, from the frozen teacher's deep copy (``frozen_copy``).

The spec is now shared by deep copies (it is immutable); every array and module is the copy's
own. ``copy.copy`` is unchanged (it shares the modules, as before).

Every test here but the last fails on the code it was written against, for the reason in its
docstring.
"""

import copy
import json
from pathlib import Path

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp.core import ffn
from mlx_ifp.train import finetune

import pytest
from test_finetune import Tok, cfg_for, make_data
from tiny import endless_tokenizer, tiny_model

PROMPT = "t5 t17 t3 t99 t42"


def reply(model, tok, **kw):
    """A greedy 4-token reply (GRIFFIN's mask unless told otherwise)."""
    return mlx_ifp.generate(model, tok, PROMPT, **{"mask_source": "griffin", "max_tokens": 4, **kw})


@pytest.mark.parametrize("quantize", [False, True], ids=["float", "4bit"])
def test_a_deep_copy_after_a_griffin_generate_is_its_own_and_replies_alike(quantize):
    """It was ``TypeError: cannot pickle 'function' object`` (the FFN wrapper's compiled glu)."""
    model, tok = tiny_model("llama", quantize=quantize), endless_tokenizer()
    before = reply(model, tok)
    twin = copy.deepcopy(model)
    mine, theirs = model.layers[0].mlp, twin.layers[0].mlp
    assert isinstance(theirs, ffn.MaskableFFN) and theirs is not mine
    assert (
        theirs.gate_proj is not mine.gate_proj
        and theirs.gate_proj.weight is not mine.gate_proj.weight
    )
    assert theirs._spec is mine._spec  # immutable, shared
    assert reply(twin, tok) == before and reply(model, tok) == before


def test_a_slim_model_picked_by_griffin_deep_copies_and_replies_alike():
    """``select``'s slim model keeps the source's FFN wrappers: the same TypeError."""
    model, tok = tiny_model("llama"), endless_tokenizer()
    slim, _ = mlx_ifp.select(model, tok, PROMPT, mask_source="griffin")
    twin = copy.deepcopy(slim)
    assert twin.layers[0].mlp is not slim.layers[0].mlp
    assert reply(twin, tok, mask_source="full") == reply(slim, tok, mask_source="full")


def test_a_full_finetune_after_a_generate_on_the_same_model_runs(tmp_path):
    """``finetune(cfg, model=m)`` with ``train: full`` after ``generate(m, ...)``: the frozen
    teacher's deep copy raised the TypeError before the first step."""
    model = tiny_model("llama")
    reply(model, endless_tokenizer())
    cfg = cfg_for(make_data(tmp_path / "d"), tmp_path / "out", train="full", iters=2, batch_size=2)
    out = finetune(cfg, model=model, tokenizer=Tok())
    assert json.loads((Path(out) / "trainer_state.json").read_text())["step"] == 2


def test_a_shallow_copy_after_a_griffin_generate_still_shares_its_modules():
    """A guard, not a bug: ``copy.copy`` worked and still shares the modules and arrays."""
    model, tok = tiny_model("llama"), endless_tokenizer()
    before = reply(model, tok)
    twin = copy.copy(model)
    assert twin.model is model.model and twin.layers[0].mlp is model.layers[0].mlp
    assert copy.copy(model.layers[0].mlp._spec) == model.layers[0].mlp._spec
    assert reply(twin, tok) == before and reply(model, tok) == before
