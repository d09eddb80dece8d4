"""Review of the fifty-third session (hchunk): a trained predictor that reads the LLM's hidden
states (any head but ``griffin`` and ``static``: the first ``layers`` blocks of the source, or a
backbone model of its own, pooled at the last token or over the text) read a text in one
unchunked forward pass, so inside ``sources.selecting`` (``serve --repick 0``, ``generate
--repick 0``) a progress callback that raises (the server's, once the client has gone) could not
stop the selection midway: the whole text ran first. Since the fifty-second session a predictor
that reads GRIFFIN statistics reads in chunks; now the hidden-state one does too, by the same
mechanism (``Running``: a KV cache across chunks of ``prefill_step_size``, the callback after
each), its pooling taken over the chunks' outputs (the last token's state, or the running sum
over the text's tokens), its scores those of the one pass to float rounding (bitwise in one
chunk). Prompt tokens are counted as tests/test_review_s52_hleft.py counts them.
"""

from mlx_ifp.inference.generation import forget
from mlx_ifp.sources import selecting
from mlx_ifp.sources.predictor import (
    PredictorConfig,
    PredictorSource,
    new_predictor,
    save_predictor,
)

import mlx.core as mx
import pytest
import test_review_s51_cancelsel as cancelsel
from test_review_s51_cancelsel import STEP, TEXT, Gone, reply, stopped
from test_serve import word_tokenizer
from tiny import finetune_folder, save_folder, tiny_model

chunks = cancelsel.chunks  # (the fixture: prompt chunks run, counted)

#: hidden-state predictors of the tiny llama (3 blocks): which blocks, which pooling, which head
SHAPES = {
    "last-of-2-blocks": dict(layers=2, pooling="last"),
    "mean-of-2-blocks-factored": dict(layers=2, pooling="mean", head="factored"),
    "last-of-every-block": dict(layers=3, pooling="last"),
    "mean-of-every-block": dict(layers=3, pooling="mean"),
    "last-own-backbone": dict(backbone="own", pooling="last"),
    "mean-own-backbone": dict(backbone="own", pooling="mean"),
}


def hidden_reader(model, root, shape: dict):
    """The folder of a hidden-state predictor of ``model`` (``shape``; backbone "own": a tiny
    llama of another width saved under ``root``), its head moved off its static start."""
    shape = dict(shape)
    if shape.get("backbone") == "own":
        own = tiny_model("llama", seed=3, hidden_size=32, num_attention_heads=2)
        shape["backbone"] = str(save_folder(own, root / "backbone"))
    pred = new_predictor(model, PredictorConfig(rank=8, **shape))
    key = mx.random.key(11)
    if pred.config.head == "full":
        pred.out.weight = 0.5 * mx.random.normal(pred.out.weight.shape, key=key)
    else:
        pred.b = mx.random.normal(pred.b.shape, key=key)
    return save_predictor(pred, root / "pred")


def ids_of(text=TEXT):
    return mx.array(word_tokenizer().encode(text, add_special_tokens=False))[None]


@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_raising_callback_stops_a_hidden_state_predictors_read_after_the_first_chunk(
    chunks, tmp_path, shape
):
    """The predictor ran all 51 tokens of the text through its backbone in one pass, and the
    callback was never called; now it reads ``step`` of them, hears (8, 51) and stops."""
    model = tiny_model("llama")
    source = PredictorSource(hidden_reader(model, tmp_path, SHAPES[shape]))
    source.predictor(model)  # (loaded before counting)
    calls, ids = [], ids_of()

    def progress(done, total):
        calls.append((done, total))
        raise Gone

    chunks["n"] = chunks["tokens"] = 0
    with pytest.raises(Gone):
        selecting(STEP, progress).run(source.scores, model, ids)
    assert chunks["tokens"] == STEP, f"{chunks['tokens']} tokens ran after the caller had gone"
    assert calls == [(STEP, ids.size)]


@pytest.mark.parametrize("step", [1, 8, 2048])
@pytest.mark.parametrize("shape", sorted(SHAPES))
def test_a_hidden_state_predictor_read_in_chunks_scores_as_its_one_pass(tmp_path, shape, step):
    """Guard (the one pass passed before the fix too): read ``step`` tokens at a time, the scores
    are the predictor's own one forward over the whole text to float32 rounding, and in one chunk
    bit for bit; the same channels kept."""
    model, ids = tiny_model("llama"), ids_of()
    source = PredictorSource(hidden_reader(model, tmp_path, SHAPES[shape]))
    whole = source.predictor(model)(ids)[0]  # (the trainer's batched pass: not chunked)
    read = selecting(step).run(source.scores, model, ids)
    assert read.shape == whole.shape and read.dtype == whole.dtype
    assert mx.allclose(read, whole, rtol=1e-5, atol=1e-5).item(), mx.abs(read - whole).max()
    if step >= ids.size:
        assert mx.array_equal(read, whole).item()
    k = 48
    picked = [sorted(r.tolist()) for r in mx.argpartition(-read, k - 1, axis=-1)[:, :k]]
    wanted = [sorted(r.tolist()) for r in mx.argpartition(-whole, k - 1, axis=-1)[:, :k]]
    assert picked == wanted


@pytest.mark.parametrize("layers", [1, 2])
@pytest.mark.parametrize("pooling", ["last", "mean"])
def test_a_cut_gemma3_backbone_read_in_chunks_past_its_sliding_window(tmp_path, layers, pooling):
    """Guard: Gemma-3's first blocks (sliding window 16, every 2nd block global: with 1 block the
    global block's cache slot is never fed) over 51 tokens in chunks of 8 and of 1, as one pass."""
    model, ids = tiny_model("gemma3_text"), ids_of()
    folder = hidden_reader(model, tmp_path, dict(layers=layers, pooling=pooling))
    source = PredictorSource(folder)
    whole = source.predictor(model)(ids)[0]
    for step in (1, 8):
        read = selecting(step).run(source.scores, model, ids)
        assert mx.allclose(read, whole, rtol=1e-5, atol=1e-5).item(), mx.abs(read - whole).max()


def test_serve_repick_0_with_a_hidden_state_predictor_stops_after_the_first_chunk(chunks, tmp_path):
    """``repick=0`` through ``stream_generate`` (as ``serve --repick 0``): the selection read the
    whole text before the callback was first called; now ``prefill_step_size`` of it. The reply
    of a caller that stays is unchanged."""
    model, tok = tiny_model("llama"), word_tokenizer()
    folder = finetune_folder(model, tmp_path / "ft", 48, train="frozen")  # (layers 1, head full)
    how = {"mask_source": PredictorSource(folder), "repick": 0, "keep": 48}
    expected = reply(model, tok, TEXT, prefill_step_size=STEP, **how)
    forget(model)  # (its mask not cached: the selection runs again)
    calls = stopped(chunks, model, tok, TEXT, prefill_step_size=STEP, **how)
    assert chunks["tokens"] == STEP, f"{chunks['tokens']} tokens ran after the caller had gone"
    assert calls == [(0, ids_of().size)]  # (none of the prompt itself had run)
    assert reply(model, tok, TEXT, prefill_step_size=STEP, **how) == expected
