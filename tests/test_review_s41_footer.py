"""``generate --keep 1.0`` (nothing pruned) named GRIFFIN in its footer (``Mask: griffin, keep
1536/1536``), a source the user never asked for (forty-first session)."""

import mlx_ifp
from mlx_ifp.inference import footer

from test_serve import word_tokenizer
from tiny import tiny_model


def last(model, tok, **kw):
    *_, r = mlx_ifp.stream_generate(model, tok, "t5 t6 t7", 2, chat_template=False, **kw)
    return footer(r)


def test_the_footer_at_full_width_names_no_mask_source():
    model, tok = tiny_model("llama"), word_tokenizer()
    lines = last(model, tok, keep=1.0)
    mask = [line for line in lines if line.startswith("Mask:")]
    assert mask == ["Mask: none, keep 96/96 FFN channels per layer (nothing pruned)"], lines
    assert any(line.startswith("Active parameters:") and "(100.0%)" in line for line in lines)


def test_the_footer_of_a_pruned_run_still_names_its_source():
    model, tok = tiny_model("llama"), word_tokenizer()
    lines = last(model, tok, keep=0.5)
    assert [line for line in lines if line.startswith("Mask: griffin, keep 48/96")], lines
