"""Edge cases of the public Python API found in the thirty-second session's review (inference,
sources, core); each test failed before its fix. All run on the tiny random models of
``tiny.py``.
"""

import mlx_ifp
from mlx_ifp import Mask, MaskSource, UsageError, make_source
from mlx_ifp.inference import forget

import mlx.core as mx
import numpy as np
import pytest
from test_api_edges import D, L, P  # the prompt, layers and FFN channels of the tiny llama
from tiny import endless_tokenizer, tiny_model


@pytest.fixture(scope="module")
def tiny():
    tok = endless_tokenizer()
    return tiny_model("llama"), tok


@pytest.fixture(autouse=True)
def fresh(tiny):
    """No shared pruner carried from one test into the next."""
    forget(tiny[0])
    yield
    forget(tiny[0])


def one_line(fn, match=None):
    with pytest.raises(UsageError, match=match) as e:
        fn()
    assert "\n" not in str(e.value).strip()


# --- Mask.save("mask_k0.5") wrote mask_k0.safetensors (with_suffix), and so did "mask_k0.25":
# the second silently replaced the first, and loading "mask_k0.5" gave the keep-0.25 mask


def test_mask_names_with_a_dot_are_their_own_files(tiny, tmp_path):
    model, tok = tiny
    _, half = mlx_ifp.select(model, tok, P, keep=0.5, mask_source="griffin")
    _, quarter = mlx_ifp.select(model, tok, P, keep=0.25, mask_source="griffin")
    a = half.mask.save(tmp_path / "mask_k0.5")
    b = quarter.mask.save(tmp_path / "mask_k0.25")
    assert a.name == "mask_k0.5.safetensors" and b.name == "mask_k0.25.safetensors"
    assert Mask.load(tmp_path / "mask_k0.5", model).k == 48
    assert Mask.load(tmp_path / "mask_k0.25", model).k == 24
    # NAME, NAME.safetensors and NAME.json still name the same pair
    assert Mask.load(tmp_path / "mask_k0.5.safetensors").k == 48
    assert Mask.load(tmp_path / "mask_k0.5.json").k == 48


def test_mask_paths_that_name_no_file_are_one_line(tiny, tmp_path, monkeypatch):
    model, tok = tiny
    _, info = mlx_ifp.select(model, tok, P, mask_source="griffin")
    monkeypatch.chdir(tmp_path)
    for bad in (None, 5, ".", "/", ""):
        one_line(lambda bad=bad: Mask.load(bad), "mask file")
    for bad in (".", "/", "sub/.."):
        one_line(lambda bad=bad: info.mask.save(bad), "mask file")
    assert not list(tmp_path.iterdir())


def test_mask_paths_expand_the_home_folder(tiny, tmp_path, monkeypatch):
    model, tok = tiny
    _, info = mlx_ifp.select(model, tok, P, mask_source="griffin")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "home").mkdir()
    assert info.mask.save("~/m") == tmp_path / "home" / "m.safetensors"
    assert not (tmp_path / "~").exists()  # not a folder literally named ~
    assert Mask.load("~/m", model).digest() == info.mask.digest()


@pytest.mark.parametrize("idx", [[[0, 1]] * L, np.zeros((L, 2), dtype=np.int32), mx.zeros((L, 2))])
def test_saving_a_hand_made_mask_of_no_integer_array_is_one_line(idx, tmp_path):
    one_line(lambda: Mask(idx, D).save(tmp_path / "m"), "indices")  # list: AttributeError
    assert not list(tmp_path.iterdir())


# --- the shared pruner was keyed by the source's key: a second instance of one class (other
# settings) got the first one's pruner, source and masks; a first call without a tokenizer
# left a pruner without one that later calls with a tokenizer were given


class Ramp(MaskSource):
    name = "ramp"

    def __init__(self, sign):
        self.sign = sign

    def scores(self, model, tokens):
        return mx.broadcast_to(self.sign * mx.arange(D, dtype=mx.float32), (L, D))


def test_two_instances_of_one_source_class_get_their_own_masks(tiny):
    model, tok = tiny
    _, up = mlx_ifp.select(model, tok, P, mask_source=Ramp(1))
    _, down = mlx_ifp.select(model, tok, P, mask_source=Ramp(-1))
    assert up.mask.indices[0].tolist() == list(range(48, 96))
    assert down.mask.indices[0].tolist() == list(range(48))


def test_static_act_sources_with_other_calibration_are_not_shared(tiny):
    model, tok = tiny
    texts = (["t5 t6 t7"], ["t9 t40 t50 t60 t70 t80"])
    masks = [
        mlx_ifp.select(model, tok, P, mask_source=make_source("static-act", tokenizer=tok, **c))
        for c in ({"calibration": t} for t in texts)
    ]
    assert masks[0][1].mask.digest() != masks[1][1].mask.digest()


def test_a_tokenizer_given_after_a_call_without_one_is_used(tiny):
    model, tok = tiny
    one_line(lambda: mlx_ifp.select(model, None, P, mask_source="griffin"), "tokenizer")
    _, info = mlx_ifp.select(model, tok, P, mask_source="griffin")
    assert info.mask.k == 48


# --- static-act took a calibration str as one text per character; a non-text was a raw error


def test_static_act_calibration_text_is_one_text(tiny):
    model, tok = tiny

    def mask(calibration):
        source = make_source("static-act", tokenizer=tok, calibration=calibration)
        return source.select(model, [5], 48).digest()

    assert mask("t5 t6 t7") == mask(["t5 t6 t7"]) != mask(list("t5 t6 t7"))
    one_line(lambda: make_source("static-act", tokenizer=tok, calibration=[5]), "calibration")
    one_line(lambda: make_source("static-act", tokenizer=tok, calibration=5), "calibration")


# --- Pruner.prefill took text (a raw ValueError from MLX), None (TypeError), NumPy ids (a raw
# ValueError), floats (truncated) and ids past the vocabulary (garbage embeddings, silently)


@pytest.mark.parametrize("bad", ["t5 t6 t7", None, [1.5, 2.0, 3.0], [[1, 2, 3]], [True, 1, 2]])
def test_prefill_refuses_what_is_not_token_ids(tiny, bad):
    model, tok = tiny
    pruner = mlx_ifp.Pruner(model, tok, source="griffin")
    one_line(lambda: pruner.prefill(bad), "token ids")


@pytest.mark.parametrize("bad", [[1, 2, 500], [1, -3, 4]])
def test_token_ids_outside_the_vocabulary_are_refused(tiny, bad):
    model, tok = tiny
    pruner = mlx_ifp.Pruner(model, tok, source="griffin")
    one_line(lambda: pruner.prefill(bad), "vocabulary")
    one_line(lambda: pruner.slim_for(bad), "vocabulary")


def test_prefill_takes_arrays_of_ids_as_the_list(tiny):
    model, tok = tiny
    pruner = mlx_ifp.Pruner(model, tok, source="griffin")
    _, first, _ = pruner.prefill([5, 6, 7, 8])
    for ids in (np.array([5, 6, 7, 8]), mx.array([5, 6, 7, 8]), (5, 6, 7, 8)):
        _, info, _ = pruner.prefill(ids)
        assert info.cache_hit and info.mask is first.mask


# --- options of the built-in sources: raw TypeErrors from MLX or pathlib at first use


@pytest.mark.parametrize("seed", [-1, 1.5, "3", None, 1 << 64, True])
def test_a_bad_random_seed_is_one_line(seed):
    one_line(lambda: make_source("random", seed=seed), "seed")


def test_a_predictor_path_that_is_no_path_is_one_line():
    one_line(lambda: make_source("predictor", path=5), "path")


# --- generate without a tokenizer: AttributeError; chat messages without a role or text
# content: KeyError or jinja's UndefinedError from the chat template


def test_generate_without_a_tokenizer_is_one_line(tiny):
    model, _ = tiny
    one_line(lambda: mlx_ifp.generate(model, None, P, max_tokens=1), "tokenizer")


@pytest.mark.parametrize(
    "turns",
    [
        [{"role": "user", "content": P}, {"role": "assistant"}],
        [{"role": "user", "content": P}, {"role": "assistant", "content": None}],
        [{"content": "t9"}, {"role": "user", "content": P}],
    ],
)
def test_chat_messages_without_a_role_or_text_are_one_line(tiny, turns):
    model, tok = tiny
    one_line(lambda: mlx_ifp.generate(model, tok, turns, max_tokens=1, mask_source="griffin"))
