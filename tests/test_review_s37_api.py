"""Review (session 37) of the Python API's edges: masks, plug-in names, ``keep`` beside a mask,
token ids, a predictor's mask pruned without its LoRA, and two CLI refusals. Each test failed
before its fix; all run on tiny random models."""

import warnings

import mlx_ifp  # first: the optimized BLAS before mlx.core
import mlx_ifp.data
from mlx_ifp import Mask, Pruner, UsageError
from mlx_ifp.sources import SOURCES

import mlx.core as mx
import numpy as np
import pytest
from bad_world import never_called, no_model_load, one_error
from test_review_s32_cli import cli
from tiny import endless_tokenizer, predictor_world, save_folder, tiny_model


@pytest.fixture(scope="module")
def tiny():
    return tiny_model("llama"), endless_tokenizer()


@pytest.fixture(scope="module")
def lora(tmp_path_factory):
    """A tiny model folder, the model loaded bare, its tokenizer, and a predictor + LoRA."""
    return predictor_world(tmp_path_factory.mktemp("s37api"))


# --- 1. one channel set, one mask: sorted when made, duplicates refused when saved ------------


def test_one_channel_set_in_any_order_is_one_mask(tiny, tmp_path):
    """``Mask.save`` kept unsorted indices as given: the same channels gave two digests (two
    cache entries, two "different" masks), and a file's order was whatever the maker's was."""
    model, tok = tiny
    good = mlx_ifp.select(model, tok, "t5 t6 t7", mask_source="griffin")[1].mask
    shuffled = Mask(good.indices[:, ::-1], good.d_ffn, good.model, good.source, good.text_hash)
    assert shuffled.digest() == good.digest() and shuffled == good
    back = Mask.load(shuffled.save(tmp_path / "m"), model)
    assert mx.array_equal(back.indices, good.indices).item()


def test_a_mask_with_a_channel_twice_is_not_saved(tiny, tmp_path):
    """A duplicate channel was saved, and refused only by ``Mask.load(path, model)``."""
    model, tok = tiny
    good = mlx_ifp.select(model, tok, "t5 t6 t7", mask_source="griffin")[1].mask
    twice = mx.concatenate([good.indices[:, :-1], good.indices[:, :1]], axis=1)
    with pytest.raises(UsageError, match="distinct"):
        Mask(twice, good.d_ffn, good.model).save(tmp_path / "m")
    assert list(tmp_path.iterdir()) == []


# --- 2. a plug-in's name: no spaces, no built-in's name in other case ------------------------


@pytest.mark.parametrize("name", [" griffin", "griffin ", "Griffin", "GRIFFIN", "my source", "a\n"])
def test_a_plug_in_name_that_reads_as_another_or_is_not_clean_is_refused(name):
    before = dict(SOURCES)
    with pytest.raises(UsageError, match="name"):
        mlx_ifp.register_source(name, lambda **kw: None)
    assert SOURCES == before


def test_a_clean_plug_in_name_still_registers_and_again():
    try:
        for _ in range(2):  # registered again under its own name: replaced, as before
            mlx_ifp.register_source("s37-api_src.v2", lambda **kw: None)
        assert "s37-api_src.v2" in SOURCES
    finally:
        SOURCES.pop("s37-api_src.v2", None)


# --- 3. keep beside a mask: refused when it disagrees -----------------------------------------


def test_an_explicit_keep_that_disagrees_with_a_given_mask_is_refused(tiny):
    """``generate(mask=m, keep=0.3)`` silently dropped keep (the CLI refuses the pair)."""
    model, tok = tiny
    mask = mlx_ifp.select(model, tok, "t5 t6 t7", mask_source="griffin", keep=0.5)[1].mask
    for call in (mlx_ifp.generate, mlx_ifp.select):
        with pytest.raises(UsageError, match="keep"):
            call(model, tok, "t1 t2", mask=mask, keep=0.3)
    # the mask's own budget, as a fraction or a count, or none at all: accepted
    for keep in ({}, {"keep": 0.5}, {"keep": 48}):
        assert mlx_ifp.select(model, tok, mask=mask, **keep)[1].mask.k == 48
    out = mlx_ifp.generate(model, tok, "t1 t2", mask=mask, max_tokens=2, keep=0.5)
    assert isinstance(out, str)


# --- 4. token ids as a list of NumPy integers --------------------------------------------------


def test_a_list_of_numpy_ints_is_token_ids(tiny):
    """``list(np.array([...]))`` was refused ("token ids must be a list of ints") where the
    array itself was taken; ``slim_for`` read it as a task of example prompts."""
    model, tok = tiny
    ids = [5, 9, 3, 7, 11, 2]
    as_np = list(np.array(ids))
    pruner = Pruner(model, tok, source="griffin", keep=0.5)
    _, want = pruner.slim_for(ids)
    _, got = pruner.slim_for(as_np)
    assert got.cache_hit and got.mask == want.mask
    a = mlx_ifp.generate(model, tok, ids, max_tokens=3, mask_source="griffin")
    b = mlx_ifp.generate(model, tok, as_np, max_tokens=3, mask_source="griffin")
    assert a == b
    assert mlx_ifp.select(model, tok, as_np, mask_source="griffin")[1].mask == want.mask
    with pytest.raises(UsageError, match="token ids"):
        pruner.slim_for([np.float32(1.0), np.float32(2.0)])


# --- 5. prune() of a predictor's mask on a model without the predictor's LoRA -----------------


def test_prune_warns_when_the_masks_predictor_lora_is_missing(lora):
    """``prune(bare, mask)`` with a mask picked by a predictor trained with a LoRA cut the bare
    model silently (``select``/``generate``/``eval --mask`` bring or demand the LoRA)."""
    folder, bare, tok, adapter = lora
    with_lora, _ = mlx_ifp.load(str(folder), adapter_path=str(adapter))
    mask = mlx_ifp.select(with_lora, tok, "t5 t6 t7", mask_source="predictor")[1].mask
    with pytest.warns(UserWarning, match="LoRA|lora") as caught:
        mlx_ifp.prune(bare, mask)
    assert len(caught) == 1 and str(adapter) in str(caught[0].message)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mlx_ifp.prune(with_lora, mask)  # its own LoRA: no word
        griffin = mlx_ifp.select(bare, tok, "t5 t6 t7", mask_source="griffin")[1].mask
        mlx_ifp.prune(bare, griffin)  # a mask of another source: none either


# --- 6. eval --keep over the FFN width: before the corpus ---------------------------------------


def test_eval_refuses_a_keep_wider_than_the_model_before_the_corpus(tmp_path, monkeypatch):
    folder = save_folder(tiny_model("llama"), tmp_path / "model")  # 96 FFN channels
    monkeypatch.setattr(mlx_ifp.data, "build", never_called)
    run = cli("eval", "--model", folder, "--mask-sources", "griffin", "--keep", "5000")
    assert "96" in one_error(run)


# --- 7. plot overlap: --adapter is for --mask-source predictor ---------------------------------


def test_plot_overlap_refuses_an_adapter_for_another_source(tmp_path, monkeypatch):
    """``--mask-source griffin --adapter DIR`` read GRIFFIN's masks off the LoRA'd model (the
    flag's help: "for --mask-source predictor"), not the model GRIFFIN prunes."""
    no_model_load(monkeypatch)
    monkeypatch.setattr(mlx_ifp.data, "build", never_called)
    (tmp_path / "ft").mkdir()
    run = cli("plot", "overlap", "-o", tmp_path / "o.png", "--adapter", tmp_path / "ft")
    assert "--mask-source predictor" in one_error(run)
    assert not (tmp_path / "o.png").exists()
