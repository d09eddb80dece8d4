"""Review (s46, hmend7): leftovers of the slim-model record and the assistant prefill.

1. ``slim, _ = mlx_ifp.select(model, tok, p)``, then ``generate(slim, tok, p,
   mask_source="predictor")`` (or ``Pruner(slim, tok, "predictor", path=FOLDER)``): a
   ``KeepMismatch`` warning "the predictor ... was trained to keep 768 of 768 FFN channels per
   layer, not 384" came before the refusal that the predictor was made for another model (the
   slim model's width was taken for the one it was trained on). A predictor recorded for
   another FFN width now says nothing about the budget: the refusal is the one line.
2. ``mlx_ifp.select(model, tok, messages)`` with messages that end with an assistant message
   (a prefill) picked its mask from the first user turn, while ``stream_generate`` on the same
   messages reads the prompt as sent, prefill included: ``select`` gave another slim model than
   the one the reply runs on. It now reads the prompt as ``stream_generate`` does.

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import warnings

import mlx_ifp
from mlx_ifp.inference import keep_warning
from mlx_ifp.sources import make_source

import pytest
from test_review_s46_hprefill import PREFILLED, ROLES, USER, tokenizer
from tiny import finetune_folder, tiny_model


@pytest.fixture(scope="module")
def model():
    return tiny_model("llama")


def test_no_keep_warning_for_a_predictor_of_another_width(model, tmp_path):
    """The slim model (48 of 96): 'trained to keep 48 of 48 FFN channels per layer, not 24'."""
    folder = finetune_folder(model, tmp_path / "pred", 48, train="frozen")
    source = make_source("predictor", path=folder)
    assert "trained to keep 48 of 96" in keep_warning(model, source, 0.25)  # its own model
    slim, _ = mlx_ifp.select(model, None, [1, 2, 3, 4], keep=48, mask_source="griffin")
    assert mlx_ifp.core.d_ffn(slim) == 48
    assert keep_warning(slim, source, 0.5) == ""  # made for 96 channels: refused where it loads


@pytest.mark.real
def test_the_embedded_slim_model_with_the_predictor_named_is_one_refusal():
    model, tok = mlx_ifp.load("smollm2-135m-instruct")
    slim, _ = mlx_ifp.select(model, tok, "Name a river.")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the KeepMismatch came first
        with pytest.raises(mlx_ifp.UsageError, match="another model"):
            mlx_ifp.generate(slim, tok, "Name a river.", mask_source="predictor", max_tokens=2)


def test_select_reads_a_prefilled_prompt_as_stream_generate_does(model):
    """select(model, tok, [user, assistant]) picked the mask from the user turn alone."""
    tok = tokenizer(ROLES)
    kw = dict(mask_source="griffin", keep=0.5)
    _, info = mlx_ifp.select(model, tok, PREFILLED, **kw)
    last = list(mlx_ifp.stream_generate(model, tok, PREFILLED, 2, prefill="slim", **kw))[-1]
    assert info.mask.indices.tolist() == last.prune.mask.indices.tolist()
    assert info.mask.text_hash == last.prune.mask.text_hash
    _, alone = mlx_ifp.select(model, tok, [USER], **kw)  # no prefill: the user turn, as before
    one = list(mlx_ifp.stream_generate(model, tok, [USER], 2, prefill="slim", **kw))[-1]
    assert alone.mask.text_hash == one.prune.mask.text_hash != info.mask.text_hash
