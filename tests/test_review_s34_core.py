"""Review (session 34) of the core and the mask sources: each test failed before its fix.

Bad input is one ``UsageError`` line, never a traceback from deep inside nor a silent wrong
result. All run on the tiny random models of ``tiny.py``.
"""

import json
import math

import mlx_ifp
from mlx_ifp import Budget, Mask, MaskSource, UsageError
from mlx_ifp.core import ffn
from mlx_ifp.core.mask import topk_indices
from mlx_ifp.sources import make_source

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest
from test_api_edges import registry  # noqa: F401  (autouse: registered sources are dropped)
from tiny import endless_tokenizer, finetune_folder, tiny_model

L, D = 3, 96  # the tiny llama's layers and FFN channels
X = mx.array([[3, 1, 4, 1, 5, 9, 2, 6]])


@pytest.fixture(scope="module")
def tiny():
    return tiny_model("llama"), endless_tokenizer()


def one_line(fn, match=None) -> str:
    with pytest.raises(UsageError, match=match) as e:
        fn()
    assert "\n" not in str(e.value).strip(), str(e.value)
    return str(e.value)


# --- a Budget made directly (mlx_ifp.Budget is public) was never checked: Budget(1.5) kept one
# channel, Budget(-1) one, Budget("0.5") raised TypeError deep inside ---------------------------


@pytest.mark.parametrize("value", [1.5, -1, 0, -0.5, math.nan, math.inf, "0.5", None, True])
def test_a_budget_made_directly_is_checked_like_a_parsed_one(value):
    one_line(lambda: Budget(value).channels(D), "^keep ")  # s57: the name, not --keep


def test_a_budget_made_directly_with_a_bad_align_is_one_line():
    one_line(lambda: Budget(0.5, 0).channels(D), "^align ")


@pytest.mark.parametrize(
    "keep", [math.inf, "inf", 10**400, "1e400"], ids=["inf", "text", "int", "e"]
)
def test_an_infinite_keep_does_not_claim_it_is_not_positive(keep):
    assert "> 0" not in one_line(lambda: Budget.parse(keep), "^keep ")


def test_good_budgets_still_parse():
    assert Budget.parse("768").channels(1536) == 768 and Budget(768).channels(1536) == 768
    assert Budget(0.5, 64).channels(1536) == 768 and Budget.parse(np.float64(0.25)).value == 0.25
    assert Budget.parse(Budget(0.5), 32) == Budget(0.5, 32)


# --- a task's example prompts averaged the scores after unit-scaling them: a source scoring
# channels it never wants -inf (or float16 scores that overflow) was refused as "NaN scores" ----


class NeverLow(MaskSource):
    """Random scores, but the first ten channels of every layer are never wanted (-inf)."""

    name = "never-low"

    def scores(self, model, tokens):
        s = mx.random.uniform(shape=(L, D), key=mx.random.key(int(tokens.size)))
        return mx.where(mx.arange(D) < 10, -math.inf, s)


def test_task_examples_take_infinite_scores(tiny):
    model, _ = tiny
    mask = NeverLow().select_examples(model, [[1, 2, 3], [4, 5]], 48)
    assert mask.k == 48 and mask.indices.min().item() >= 10  # the -inf channels stay out
    big = mx.full((L, D), 7e4).astype(mx.float16)  # inf in float16
    src = type("Big", (MaskSource,), {"name": "big", "scores": lambda s, m, t: big})()
    assert src.select_examples(model, [[1], [2]], 5).indices[0].tolist() == [0, 1, 2, 3, 4]


def test_scores_as_a_numpy_object_array_are_one_line(tiny):
    model, _ = tiny  # RuntimeError: std::bad_cast
    bad = np.array([[None] * D] * L)
    src = type("Obj", (MaskSource,), {"name": "obj", "scores": lambda s, m, t: bad})()
    one_line(lambda: src.select(model, [1, 2], 40), "mask source")


# --- static-act over calibration text with no tokens: raw "[stack] No arrays provided" -------


@pytest.mark.parametrize("text", ["", "   "])
def test_static_act_calibration_without_tokens_is_one_line(tiny, text):
    model, tok = tiny
    src = make_source("static-act", tokenizer=tok, calibration=[text])
    one_line(lambda: src.select(model, [1], 40), "calibration")


# --- Mask.save wrote the .safetensors, then failed on the sidecar (TypeError traceback), leaving
# a pair whose indices and sidecar disagree; it also saved masks that Mask.load refuses ---------


def test_a_mask_whose_sidecar_cannot_be_written_changes_no_file(tiny, tmp_path):
    model, _ = tiny
    good = make_source("random", seed=1).select(model, [1], 40)
    good.save(tmp_path / "m")
    before = (tmp_path / "m.safetensors").read_bytes()
    other = make_source("random", seed=2).select(model, [1], 40)
    other.source = object()  # not JSON (a plug-in's key() returning something odd)
    one_line(lambda: other.save(tmp_path / "m"), "mask")
    assert (tmp_path / "m.safetensors").read_bytes() == before
    assert mx.array_equal(Mask.load(tmp_path / "m", model).indices, good.indices).item()


def test_a_numpy_width_is_saved_as_a_number(tiny, tmp_path):
    model, _ = tiny
    good = make_source("random", seed=1).select(model, [1], 40)
    Mask(good.indices, np.int64(D), good.model, "x").save(tmp_path / "m")
    assert Mask.load(tmp_path / "m", model).d_ffn == D


@pytest.mark.parametrize(
    "indices, d", [(mx.full((L, 4), 99), D), (mx.full((L, 4), -1), D), (mx.zeros((L, 4)), "x")]
)
def test_a_mask_that_load_would_refuse_is_not_saved(tmp_path, indices, d):
    one_line(lambda: Mask(indices.astype(mx.int32), d).save(tmp_path / "m"), "mask")
    assert not list(tmp_path.iterdir())


def test_indices_and_a_sidecar_of_two_saves_do_not_load_as_one_mask(tiny, tmp_path):
    """A save killed between its two renames leaves new indices beside the old sidecar."""
    model, _ = tiny
    make_source("random", seed=1).select(model, [1], 40).save(tmp_path / "a")
    make_source("random", seed=2).select(model, [1], 40).save(tmp_path / "b")
    (tmp_path / "a.safetensors").write_bytes((tmp_path / "b.safetensors").read_bytes())
    one_line(lambda: Mask.load(tmp_path / "a", model), "sidecar")


def test_a_missing_sidecar_is_named(tiny, tmp_path):
    model, _ = tiny
    make_source("random", seed=1).select(model, [1], 40).save(tmp_path / "m")
    (tmp_path / "m.json").unlink()
    msg = one_line(lambda: Mask.load(tmp_path / "m", model), "not found")
    assert "m.json" in msg


@pytest.mark.parametrize("d", [64, 0, -5, "x"])
def test_a_mask_wider_than_its_width_is_one_line_about_the_mask(tiny, d):
    """generate(mask=...) read Budget(mask.keep) first: "--keep 1.25 is neither a fraction",
    ZeroDivisionError or TypeError, before the mask itself was checked."""
    model, tok = tiny
    mask = Mask(mx.broadcast_to(mx.arange(80, dtype=mx.int32), (L, 80)), d)
    one_line(lambda: mlx_ifp.generate(model, tok, "t5", mask=mask, max_tokens=2), "mask keeps")


# --- a predictor folder ------------------------------------------------------------------------


def _edit_config(folder, change):
    path = folder / "ifp_config.json"
    cfg = json.loads(path.read_text())
    change(cfg)
    path.write_text(json.dumps(cfg))


@pytest.mark.parametrize("bad", [["x"], "x", 3])
def test_a_broken_predictor_config_without_k_is_one_line(tiny, tmp_path, bad):
    """trained_k read cfg['predictor'].get('k'): AttributeError on a list or text."""
    model, tok = tiny
    folder = finetune_folder(model, tmp_path / "p", 48, train="frozen")
    _edit_config(folder, lambda c: (c.pop("k"), c.update(predictor=bad)))
    pruner = mlx_ifp.Pruner(model, tok, source="predictor", path=str(folder))  # AttributeError
    one_line(lambda: pruner.slim_for("t5"), "predictor")


def test_predictor_weights_with_extra_arrays_are_one_line(tiny, tmp_path):
    model, tok = tiny
    folder = finetune_folder(model, tmp_path / "p", 48, train="frozen")
    weights = mx.load(str(folder / "predictor.safetensors"))
    mx.save_safetensors(str(folder / "predictor.safetensors"), {**weights, "zzz": mx.zeros(3)})
    pruner = mlx_ifp.Pruner(model, tok, source="predictor", path=str(folder), keep=48)
    one_line(lambda: pruner.slim_for("t5 t6"), "do not fit")


@pytest.mark.parametrize("how", ["missing", "empty"])
def test_a_predictor_without_the_fingerprint_of_its_model_is_refused(tiny, tmp_path, how):
    """load_predictor's 'fingerprint is missing' check could never fire: a config without one
    got the default {}, and check_fingerprint skips an empty fingerprint."""
    model, tok = tiny
    folder = finetune_folder(model, tmp_path / "p", 48, train="frozen")
    _edit_config(
        folder,
        lambda c: (
            c["predictor"].pop("model") if how == "missing" else c["predictor"].update(model={})
        ),
    )
    pruner = mlx_ifp.Pruner(model, tok, source="predictor", path=str(folder), keep=48)
    one_line(lambda: pruner.slim_for("t5 t6"), "fingerprint")


# --- slicing a packed down projection of the mx modes (mxfp4, nvfp4) requantized it at 4 bits,
# the grid REQUANT_MIN_BITS exists to avoid (KL 0.319 on SmolLM2 at keep 0.5) ------------------


@pytest.mark.parametrize(
    "kw", [dict(mode="mxfp4", group_size=32), dict(mode="nvfp4", group_size=16)]
)
def test_a_slim_model_of_a_4_bit_mx_mode_is_not_requantized_at_4_bits(kw):
    model = tiny_model("llama")
    nn.quantize(model, bits=4, **kw)
    mx.eval(model.parameters())
    idx = topk_indices(mx.random.uniform(shape=(L, D), key=mx.random.key(0)), 64)
    mask = Mask(idx, D)
    with ffn.masked(model, mask.dense()):
        ref = model(X)
    slim = mlx_ifp.prune(model, mask)
    np.testing.assert_allclose(np.array(slim(X)), np.array(ref), atol=1e-4, rtol=1e-4)


# --- an architecture probed for its activation took the first one within 1e-3 of its FFN's
# output: an exact-GELU FFN with small weights read as the tanh-approximate GELU, and the
# installed FFN then changed the model's output --------------------------------------------------


def test_an_unregistered_architecture_gets_the_activation_that_matches_best(monkeypatch):
    import importlib

    monkeypatch.setattr(ffn, "ARCHITECTURES", dict(ffn.ARCHITECTURES))
    mod = importlib.import_module("mlx_lm.models.gemma")
    args = mod.ModelArgs(
        model_type="s34-gemma", hidden_size=64, num_hidden_layers=2, intermediate_size=256,
        num_attention_heads=4, num_key_value_heads=2, head_dim=16, rms_norm_eps=1e-5,
        vocab_size=128,
    )  # fmt: skip
    mx.random.seed(0)
    model = mod.Model(args)
    model.update(
        nn.utils.tree_map(
            lambda p: 0.1 * mx.random.normal(p.shape) if p.ndim > 1 else p, model.parameters()
        )
    )
    ref = model(X)
    assert ffn.spec_of(model).glu is ffn._gelu_glu  # gemma's own: exact GELU
    ffn.install(model)
    np.testing.assert_allclose(np.array(model(X)), np.array(ref), atol=1e-6)


# --- re-registering a plug-in's name kept serving the first factory's source -------------------


def test_a_source_registered_again_under_its_name_is_the_one_used(tiny):
    model, tok = tiny
    ramp = mx.broadcast_to(mx.arange(D, dtype=mx.float32), (L, D))

    class Mine(MaskSource):
        def __init__(self, s):
            self.s = s

        def scores(self, model, tokens):
            return self.s

    mlx_ifp.register_source("s34-mine", lambda **kw: Mine(-ramp))
    _, a = mlx_ifp.select(model, tok, "t5 t6", mask_source="s34-mine")
    mlx_ifp.register_source("s34-mine", lambda **kw: Mine(ramp))
    _, b = mlx_ifp.select(model, tok, "t7 t8", mask_source="s34-mine")
    assert a.mask.indices[0, 0].item() == 0 and b.mask.indices[0, 0].item() == D // 2
