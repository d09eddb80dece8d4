"""Review (s46, happ2): the Python API as a macOS app builds on it (threads, cancelled
streams, exceptions mid-reply, masks and plug-in sources, NumPy numbers).

- A stream advanced from several threads (each ``next()`` on whichever worker is free, as
  Starlette's ``StreamingResponse`` does with a sync iterator): with re-picking on (the default
  for the embedded model's shipped predictor) it stopped at the first re-pick with
  ``RuntimeError: There is no Stream(cpu, N) in current thread``. ``Repicking`` kept the reply
  tokens it was fed as lazy reshapes, made on the stream of the thread of that step and
  evaluated at the re-pick in another thread (MLX streams belong to the thread that made them).
  mlx-lm's own ``stream_generate`` runs so (its only complaint: a StreamContext message when the
  generator ends in another thread than it started in, which is mlx-lm's).
- ``generate(..., align=np.int64(8))`` (and ``select`` / ``stream_generate``): ``TypeError:
  can't multiply sequence by non-int of type 'numpy.bool'`` from inside the mask check, and
  ``Pruner(..., align=np.int64(8))`` / ``Budget(0.3, np.int64(8))`` refused a whole number as
  "--align must be a whole number >= 1"; ``Pruner(..., cache_size=np.int64(2))`` and
  ``Pruner(m, t, "random", seed=np.int64(3))`` the same, where ``keep``, ``max_tokens``,
  ``top_k``, ``repick`` take NumPy's numbers (as mlx-lm takes them).
- ``slim = mlx_ifp.prune(model, mask)`` (or ``select``), "an ordinary mlx-lm model", then
  ``nn.quantize(slim)`` to make it smaller (or ``slim.update(...)``, ``slim.load_weights``,
  mlx-lm's ``linear_to_lora_layers`` to fine-tune it): the slim model held the source's very
  attention, norm and embedding *modules*, so the source model was quantized (changed) too, and
  so was every other slim model cut from it; the app's ``Pruner`` then refused to work ("the
  model's weights changed since this Pruner was made"). A slim model's module tree is now its
  own; its arrays are still the source's (no memory is copied).

Every test here fails on the code it was written against, for the reason in its docstring.
"""

import time
from concurrent.futures import ThreadPoolExecutor

import mlx_ifp

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest
from tiny import endless_tokenizer, tiny_model

P = "t1 t2 t3 t4 t5"


@pytest.fixture(scope="module")
def tiny():
    return tiny_model("llama"), endless_tokenizer()


def _hopping(gen) -> list[str]:
    """The texts of ``gen``, each ``next()`` run on the next of three worker threads."""
    pools, out = [ThreadPoolExecutor(1) for _ in range(3)], []
    try:
        for i in range(10_000):
            try:
                out.append(pools[i % 3].submit(next, gen).result().text)
            except StopIteration:
                return out
    finally:
        for pool in pools:
            pool.shutdown()
        time.sleep(0.3)  # (MLX tears a thread's streams down just after it ends)


# mlx-lm's generator says "StreamContext destroyed in a different thread" when it is closed in
# another thread than the one it started in: its own message, not an error of the reply
@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
@pytest.mark.parametrize("kw", [dict(repick=2), dict(repick=3, prefill="slim")])
def test_a_re_picking_stream_advanced_from_several_threads_replies_as_in_one(tiny, kw):
    """Each ``next()`` in another thread: ``RuntimeError: There is no Stream(cpu, N) in current
    thread`` at the first re-pick (the reply tokens kept as lazy reshapes of another thread)."""
    model, tok = tiny
    kw = dict(chat_template=False, mask_source="griffin", keep=0.5, **kw)
    one = [r.text for r in mlx_ifp.stream_generate(model, tok, P, 12, **kw)]
    assert _hopping(mlx_ifp.stream_generate(model, tok, P, 12, **kw)) == one
    # and the model serves the next call as before
    assert [r.text for r in mlx_ifp.stream_generate(model, tok, P, 12, **kw)] == one


def test_numpy_align_is_taken_as_a_whole_number(tiny):
    """``align=np.int64(8)``: a TypeError from the mask check in ``generate``, and "--align
    must be a whole number >= 1" from ``Pruner`` and ``Budget``."""
    model, tok = tiny
    kw = dict(chat_template=False, mask_source="griffin", keep=0.3, max_tokens=4)
    want = mlx_ifp.generate(model, tok, P, align=8, **kw)
    assert mlx_ifp.generate(model, tok, P, align=np.int64(8), **kw) == want
    assert mlx_ifp.select(model, tok, P, mask_source="griffin", keep=0.3, align=np.int32(8))[
        1
    ].mask.k == mlx_ifp.Budget(0.3, 8).channels(96)
    assert mlx_ifp.Pruner(model, tok, "griffin", keep=0.3, align=np.int64(8)).k == 32
    budget = mlx_ifp.Budget(0.3, np.int64(8))
    assert budget.channels(96) == 32 and type(budget.align) is int
    with pytest.raises(mlx_ifp.UsageError, match="align"):
        mlx_ifp.Budget(0.3, np.float64(8.0))  # a float is still refused, in one line
    with pytest.raises(mlx_ifp.UsageError, match="align"):
        mlx_ifp.generate(model, tok, P, align=np.int64(0), **kw)


def test_numpy_cache_size_and_seed_are_taken(tiny):
    """``Pruner(..., cache_size=np.int64(2))`` and ``Pruner(m, t, "random", seed=np.int64(3))``:
    refused as not whole numbers."""
    model, tok = tiny
    pruner = mlx_ifp.Pruner(model, tok, "griffin", cache_size=np.int64(2))
    assert pruner.cache.maxsize == 2 and type(pruner.cache.maxsize) is int
    seeded = mlx_ifp.Pruner(model, tok, "random", seed=np.int64(3)).slim_for(P)[1].mask
    assert seeded == mlx_ifp.Pruner(model, tok, "random", seed=3).slim_for(P)[1].mask
    for bad in (dict(cache_size=np.float64(2.0)), dict(cache_size=np.bool_(True))):
        with pytest.raises(mlx_ifp.UsageError, match="cache_size"):
            mlx_ifp.Pruner(model, tok, "griffin", **bad)


def _quantize_attention(module: nn.Module) -> None:
    """4-bit the Linear layers whose inputs 32 divides (the attention: 64 wide)."""
    fits = lambda _, m: isinstance(m, nn.Linear) and m.weight.shape[-1] == 64  # noqa: E731
    nn.quantize(module, group_size=32, bits=4, class_predicate=fits)


def test_changing_a_slim_model_in_place_leaves_its_source_alone():
    """``nn.quantize(slim)`` quantized the source model's attention too (shared modules): its
    replies changed, and the app's ``Pruner`` of it refused every later call."""
    model, tok = tiny_model("llama"), endless_tokenizer()
    x = mx.array([[5, 9, 3, 7]])
    dense = np.array(model(x))
    pruner = mlx_ifp.Pruner(model, tok, "griffin", keep=0.5)
    slim, info = pruner.slim_for(P)
    other = np.array(pruner.slim_for("t9 t8")[0](x))
    attn, q = model.layers[0].self_attn, model.layers[0].self_attn.q_proj
    assert slim.layers[0].self_attn.q_proj.weight is q.weight  # the arrays: shared, not copied
    _quantize_attention(slim)
    assert type(slim.layers[0].self_attn.q_proj) is nn.QuantizedLinear
    assert model.layers[0].self_attn is attn and type(attn.q_proj) is nn.Linear
    np.testing.assert_array_equal(np.array(model(x)), dense)
    again = pruner.slim_for("t9 t8")[0]  # (a hit: the other slim model, untouched too)
    np.testing.assert_array_equal(np.array(again(x)), other)
    # as prune's: an update of the slim model's norm is its own
    slim2 = mlx_ifp.prune(model, info.mask)
    slim2.update({"model": {"norm": {"weight": mx.zeros_like(model.model.norm.weight)}}})
    slim2.freeze()  # (its own frozen set: the source's parameters stay trainable)
    np.testing.assert_array_equal(np.array(model(x)), dense)
    assert nn.utils.tree_flatten(model.trainable_parameters())
    fresh, info = pruner.slim_for(P)  # the Pruner goes on; the quantized one is cut anew (s47)
    assert not info.cache_hit and type(fresh.layers[0].self_attn.q_proj) is nn.Linear
