"""Review (fifty-first session, longrun): mlx_ifp kept loaded for hours (an app, ``serve``).

A mask picked by a trained predictor that is not the model's own is cut by a pruner whose
source came from a module-level cache of one ``PredictorSource`` per folder. That source keeps
the predictor it loaded, and the predictor holds its model (its backbone): the cache pinned a
dropped model, weights and all; and two models sharing the source reloaded the predictor from
disk at every turn. Counted here: the model object freed, the predictor loads."""

import gc
import weakref

import mlx_ifp
from mlx_ifp.sources import make_source
from mlx_ifp.sources import predictor as predictor_module

import pytest
from tiny import endless_tokenizer, finetune_folder, save_folder, tiny_model


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny model folder, a predictor-only folder for it, and a mask that predictor picked."""
    root = tmp_path_factory.mktemp("longrun")
    folder = save_folder(tiny_model("llama"), root / "model")
    model, tok = mlx_ifp.load(str(folder))
    pred = finetune_folder(model, root / "pred", 48, train="frozen")
    source = make_source("predictor", path=str(pred))
    _, info = mlx_ifp.select(model, tok, "t5 t6 t7", mask_source=source)
    assert info.mask.source == f"predictor({pred})"
    return folder, info.mask


def test_a_dropped_model_is_freed_after_its_pickers_pruner_selected(world):
    folder, mask = world
    model, tok = mlx_ifp.load(str(folder))
    pruner = mlx_ifp.Pruner.for_mask(model, tok, mask)  # the mask's picker: the predictor
    pruner.slim_for("t1 t2 t3")  # its predictor loaded, on this model
    mlx_ifp.generate(model, tok, "t1 t2", max_tokens=2, mask=mask)  # the shared pruner too
    held = weakref.ref(model)
    del model, pruner
    gc.collect()
    assert held() is None  # was kept by the module-level source cache (its predictor's backbone)


def test_two_models_each_keep_their_pickers_predictor(world, monkeypatch):
    folder, mask = world
    loads = []
    real = predictor_module.load_predictor
    monkeypatch.setattr(
        predictor_module, "load_predictor", lambda path, m: loads.append(id(m)) or real(path, m)
    )
    (a, tok), (b, _) = mlx_ifp.load(str(folder)), mlx_ifp.load(str(folder))
    pa, pb = mlx_ifp.Pruner.for_mask(a, tok, mask), mlx_ifp.Pruner.for_mask(b, tok, mask)
    for i in range(4):  # distinct texts: every call selects
        pa.slim_for(f"t{i} t9")
        pb.slim_for(f"t{i} t8")
    assert len(loads) == 2  # one per model; was 8 (one shared source: reloaded at every turn)
    assert mlx_ifp.Pruner.for_mask(a, tok, mask).source is pa.source  # one per model, kept


@pytest.mark.parametrize("name", ["static", "static-act"])
def test_one_static_source_over_many_models_keeps_a_few_models_scores(name):
    """An app holding one static source (static-act's calibration pass is costly) while it
    loads model after model: each model's scores were kept for good, one entry per model."""
    source = make_source(name, tokenizer=endless_tokenizer())
    held = []
    for seed in range(10):
        held.append(weakref.ref(source.scores(tiny_model("llama", seed=seed), [1, 2, 3])))
        gc.collect()
    again = source.scores(tiny_model("llama", seed=9), [1, 2, 3])  # the latest's: still kept
    assert again is held[-1]()
    assert sum(ref() is not None for ref in held) <= 4  # was 10


def test_pruners_of_one_lora_model_share_its_fused_attention(tmp_path):
    """Each ``Pruner`` of a model with LoRA layers fused the attention's LoRA anew (8-bit copies
    of q/k/v/o): the shared pruners (4 budgets) or serve's prompt and task pruners each held one
    more copy, outside every cache's count (~101 MiB a pruner on the embedded SmolLM2)."""
    from mlx.utils import tree_flatten

    folder = save_folder(tiny_model("llama"), tmp_path / "model")
    bare, _ = mlx_ifp.load(str(folder))
    adapter = finetune_folder(bare, tmp_path / "run", 48, train="lora")
    model, tok = mlx_ifp.load(str(folder), adapter_path=str(adapter))
    a = mlx_ifp.Pruner(model, tok, source="griffin", keep=0.3)
    b = mlx_ifp.Pruner(model, tok, source="griffin", keep=0.6)
    ids = lambda m: {id(v): v for _, v in tree_flatten(m.parameters())}  # noqa: E731
    own_a = set(ids(a.slim_base)) - set(ids(model))
    assert own_a  # the fused attention (the test's premise: LoRA outside the FFN)
    again = ids(b.slim_base)
    assert sum(v.nbytes for i, v in again.items() if i not in ids(model) and i not in own_a) == 0
    held = weakref.ref(model)
    del model, a, b, again
    gc.collect()
    assert held() is None  # kept for the model, by the model: freed with it


def test_a_dropped_pruners_model_is_freed_without_the_garbage_collector():
    """(Found by the fresh-clone run: ``test_review_s34_bench``'s 4-bit source counted in the
    next keep's resident memory.) The shared pieces a pruner keeps beside its model carried a
    check of the model's arrays that held the model itself: a cycle, so a dropped model (a
    bench's 4-bit source, an app's previous model) stayed resident until a garbage collection
    ran, not freed as its last user let go of it."""
    model = tiny_model("llama")
    pruner = mlx_ifp.Pruner(model, endless_tokenizer(), source="griffin", keep=0.5)
    pruner.slim_for("t1 t2 t3")
    held = weakref.ref(model)
    gc.disable()
    try:
        del model, pruner
        assert held() is None, "the model outlived its pruner until a garbage collection"
    finally:
        gc.enable()
