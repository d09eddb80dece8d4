"""Review (s45): a model the Python API ran is freed when its user drops it.

- ``model, tok = mlx_ifp.load(...)``, ``mlx_ifp.generate(model, tok, ...)`` (or ``select`` or
  ``stream_generate``), then ``del model`` did not free the model: the module-level registry of
  shared pruners behind them held it, its slim copies (and a shipped LoRA's copy) until four
  newer model / source / budget combinations pushed them out, or ``forget(model)`` was called.
  An app that loads one model, then another, kept both in memory (``mlx_lm`` frees a model on
  ``del``). A slim model from ``select`` kept by the user kept the source alive the same way.
The shared pruners are now held by their model (a plain attribute, not a parameter, never
saved, left off its copies), the latest four listed weakly: the model, its pruners and slim models
form a cycle Python's collector frees once the user drops the model. Repeated calls still share
one pruner and its slim cache; ``forget(model)`` still drops them at once.
"""

import copy
import gc
import threading
import weakref

import mlx_ifp  # first: the optimized BLAS before mlx.core
from mlx_ifp.core import install
from mlx_ifp.inference import forget, generation

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest
from tiny import endless_tokenizer, finetune_folder, predictor_world, tiny_model

PROMPT = "t5 t17 t3 t99 t42"


def freed(ref) -> bool:
    gc.collect()
    return ref() is None


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    """A tiny llama folder, its predictor + LoRA folder, and a frozen-LLM predictor's folder."""
    root = tmp_path_factory.mktemp("hmem")
    folder, bare, tok, adapter = predictor_world(root)
    frozen = finetune_folder(bare, root / "frozen", 48, train="frozen")
    return {"folder": folder, "tok": tok, "adapter": adapter, "frozen": frozen}


def test_a_model_dropped_after_generate_is_freed_with_its_memory():
    """``del model`` after ``generate`` left it alive (the shared pruners held it); its MLX
    memory stays in use. Now the weak reference dies and the memory goes back."""
    tok = endless_tokenizer()
    gc.collect()
    before = mx.get_active_memory()
    model = tiny_model("llama", intermediate_size=2048)
    size = mx.get_active_memory() - before
    text = mlx_ifp.generate(model, tok, PROMPT, max_tokens=3, chat_template=False)
    for _ in mlx_ifp.stream_generate(model, tok, PROMPT, max_tokens=2, keep=0.25):
        pass
    mlx_ifp.select(model, tok, task="t1 t2", keep=0.75)
    assert text
    ref = weakref.ref(model)
    del model
    assert freed(ref)
    assert mx.get_active_memory() - before < size // 4


def test_a_slim_model_kept_by_the_user_does_not_keep_its_source(world):
    """A slim model from ``select`` (shallow copies of the source's containers) kept the source
    alive through the shared pruner; it holds only the arrays it shares, and still runs."""
    model, tok = mlx_ifp.load(str(world["folder"]))
    slim, _ = mlx_ifp.select(model, tok, PROMPT, mask_source="griffin")
    x = mx.array([[5, 9, 3]])
    expect = np.array(slim(x))
    ref = weakref.ref(model)
    del model
    assert freed(ref)
    np.testing.assert_array_equal(np.array(slim(x)), expect)


def test_a_lora_copy_does_not_keep_the_model(world):
    """``adapted_copy`` of a model the API ran (here with another predictor's mask) kept the model
    alive through the shared pruners (and must not through what ``copy.copy`` carries over)."""
    fro, tok = mlx_ifp.load(str(world["folder"]), adapter_path=str(world["frozen"]))
    _, info = mlx_ifp.select(fro, tok, PROMPT, mask_source="predictor")
    del fro
    model, _ = mlx_ifp.load(str(world["folder"]))
    mlx_ifp.select(model, tok, mask=info.mask)
    _, again = mlx_ifp.select(model, tok, mask=info.mask)
    assert again.cache_hit  # (s33: one source per folder, one pruner: its slim cache hits)
    text = mlx_ifp.generate(model, tok, PROMPT, max_tokens=2, mask=info.mask)
    lora = mlx_ifp.models.adapted_copy(model, world["adapter"])
    ref = weakref.ref(model)
    del model
    assert freed(ref)
    assert text and mlx_ifp.generate(lora, tok, PROMPT, max_tokens=2)  # its own pruner


def test_repeated_calls_share_one_pruner_and_its_slim_models():
    """The reuse across calls the registry gave stays: one pruner per model, source and budget,
    found again from another thread, slim cache hits, and the latest four kept."""
    model, tok = tiny_model("llama"), endless_tokenizer()
    first = generation.get_pruner(model, tok, "griffin", 0.5)
    got = []
    t = threading.Thread(target=lambda: got.append(generation.get_pruner(model, tok, "griffin")))
    t.start()
    t.join(30)
    assert got == [first] and generation.get_pruner(model, tok, "griffin", 0.5) is first
    _, a = mlx_ifp.select(model, tok, PROMPT, mask_source="griffin")
    _, b = mlx_ifp.select(model, tok, PROMPT, mask_source="griffin")
    assert (a.cache_hit, b.cache_hit) == (False, True)
    assert [p for p in generation._PRUNERS.values() if p.source_model is model] == [first]
    others = [generation.get_pruner(model, tok, "griffin", k + 1) for k in range(4)]
    assert generation.get_pruner(model, tok, "griffin", 4) is others[-1]
    mine = [p for p in generation._PRUNERS.values() if p.source_model is model]
    assert len(mine) == generation.MAX_PRUNERS and first not in mine  # the oldest let go
    assert generation.get_pruner(model, tok, "griffin", 0.5) is not first
    forget(model)


def test_forget_still_drops_the_pruners_at_once():
    """``forget(model)`` drops its shared pruners now: ``del model`` then frees it without
    waiting for the collector (a new call makes a new pruner)."""
    model, tok = tiny_model("llama"), endless_tokenizer()
    first = generation.get_pruner(model, tok, None, 0.5)
    pruner = weakref.ref(first)
    del first
    forget(model)
    assert pruner() is None
    assert not [p for p in generation._PRUNERS.values() if p.source_model is model]
    assert generation.get_pruner(model, tok, None, 0.5) is not None
    forget(model)
    ref = weakref.ref(model)
    gc.collect()
    gc.disable()
    try:
        del model
        assert ref() is None  # freed by its reference count alone
    finally:
        gc.enable()


def test_the_model_tree_is_unchanged_by_what_is_kept_for_it(tmp_path):
    """What is kept for a model is no parameter and no child: ``parameters()``, ``tree_flatten``,
    ``repr``, ``update``, ``save_weights`` and ``mlx_lm``'s ``save_model`` see the same model;
    a deep copy (as the trainer's teacher) works and carries none of it."""
    from mlx_lm.utils import save_model

    model, tok = tiny_model("llama"), endless_tokenizer()
    install(model)  # what a mask source does to it (its FFNs made maskable, the same arrays)
    names = [k for k, _ in nn.utils.tree_flatten(model.parameters())]
    shown, flat = repr(model), [k for k, _ in nn.utils.tree_flatten(model)]
    mlx_ifp.generate(model, tok, PROMPT, max_tokens=2, chat_template=False)
    assert [k for k, _ in nn.utils.tree_flatten(model.parameters())] == names
    assert [k for k, _ in nn.utils.tree_flatten(model)] == flat and repr(model) == shown
    assert set(model) == {"model", "lm_head"}  # (a Module is a dict of its children)
    model.update(model.parameters())
    model.save_weights(str(tmp_path / "w.safetensors"))
    assert sorted(mx.load(str(tmp_path / "w.safetensors"))) == sorted(names)
    save_model(tmp_path / "m", model)
    saved = {}
    for f in (tmp_path / "m").glob("*.safetensors"):
        saved |= mx.load(str(f))
    assert sorted(saved) == sorted(names)
    forget(model)
    # a deep copy (as the trainer's teacher makes) of a model holding pruners: none carried
    plain = tiny_model("llama")
    first = generation.get_pruner(plain, tok, "random", 0.5)
    mlx_ifp.select(plain, tok, PROMPT, mask_source="random")
    twin = copy.deepcopy(plain)  # (the pruners' locks cannot be copied: none may be)
    assert generation.get_pruner(twin, tok, "random", 0.5) is not first
    assert generation.get_pruner(plain, tok, "random", 0.5) is first
    assert [k for k, _ in nn.utils.tree_flatten(twin.parameters())] == [
        k for k, _ in nn.utils.tree_flatten(plain.parameters())
    ]
    forget(plain), forget(twin)


def test_an_export_after_generate_writes_the_same_files(world, tmp_path):
    """``mlx_ifp.export`` of a model the API ran (and of its slim model) writes what it wrote
    before."""
    model, tok = mlx_ifp.load(str(world["folder"]))
    slim, info = mlx_ifp.select(model, tok, task="t1 t2", mask_source="griffin")
    mlx_ifp.export(model, tok, tmp_path / "a")
    mlx_ifp.export(slim, tok, tmp_path / "sa", mask=info.mask)
    mlx_ifp.generate(model, tok, PROMPT, max_tokens=2, mask_source="griffin")
    mlx_ifp.export(model, tok, tmp_path / "b")
    mlx_ifp.export(slim, tok, tmp_path / "sb", mask=info.mask)
    for one, two in (("a", "b"), ("sa", "sb")):
        a, b = (mx.load(str(tmp_path / d / "model.safetensors")) for d in (one, two))
        assert sorted(a) == sorted(b)
        for k in a:
            np.testing.assert_array_equal(np.array(a[k]), np.array(b[k]))
        configs = [(tmp_path / d / "config.json").read_text() for d in (one, two)]
        assert configs[0] == configs[1]
