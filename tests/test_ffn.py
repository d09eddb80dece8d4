"""The FFN mechanism on tiny random models of every supported architecture."""

from mlx_ifp.common import UsageError
from mlx_ifp.core import ffn, slicing
from mlx_ifp.core.mask import Mask, fingerprint, topk_indices
from mlx_ifp.inference.pruner import prune

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest
from mlx_lm.generate import generate_step
from tiny import ARCHS, tiny_model

X = mx.array([[3, 1, 4, 1, 5, 9, 2, 6]])


def random_mask(model, k, seed=0):
    L, d = len(ffn.layers(model)), ffn.d_ffn(model)
    scores = mx.random.uniform(shape=(L, d), key=mx.random.key(seed))
    return Mask(topk_indices(scores, k), d)


@pytest.mark.parametrize("quantize", [False, True], ids=["dense", "q4"])
@pytest.mark.parametrize("arch", list(ARCHS))
def test_slim_equals_masked(arch, quantize):
    model = tiny_model(arch, quantize=quantize)
    mask = random_mask(model, 40)
    with ffn.masked(model, mask.dense()):
        masked = model(X)
    dense = model(X)
    slim = prune(model, mask)
    out = slim(X)
    assert not np.allclose(np.array(masked), np.array(dense), atol=1e-3)  # the mask matters
    np.testing.assert_allclose(np.array(out), np.array(masked), atol=2e-5, rtol=1e-4)
    assert slim.args.intermediate_size == 40 and model.args.intermediate_size == 96
    # attention, norms and embeddings: their arrays are shared, not copied (the modules are
    # the slim model's own: nn.quantize(slim) leaves the source alone, test_review_s46_happ2)
    assert slim.layers[0].self_attn.o_proj.weight is model.layers[0].self_attn.o_proj.weight
    assert slim.layers[1].input_layernorm.weight is model.layers[1].input_layernorm.weight
    assert slim.layers[0].self_attn is not model.layers[0].self_attn
    assert ffn.d_ffn(slim) == 40 and ffn.d_ffn(model) == 96


@pytest.mark.parametrize("quantize", [False, True], ids=["dense", "q4"])
def test_layers_sliced_on_several_cpu_streams_match_one_stream(quantize):
    model = tiny_model("llama", quantize=quantize, num_hidden_layers=5)
    mask = random_mask(model, 40, seed=3)
    with mx.stream(mx.cpu):
        slims = []
        for n in (1, 3):  # 3 streams over 5 layers: each stream gets layers of its own
            streams = [mx.default_stream(mx.cpu)] + [mx.new_stream(mx.cpu) for _ in range(n - 1)]
            slims.append(slicing.slim_copy(model, [mask.indices[i] for i in range(5)], streams))
        one, many = (dict(nn.utils.tree_flatten(s.parameters())) for s in slims)
        assert one.keys() == many.keys()
        for name, value in one.items():
            assert mx.array_equal(value, many[name]).item(), name
        np.testing.assert_array_equal(np.array(slims[0](X)), np.array(slims[1](X)))


def test_slicing_uses_several_streams_only_on_the_cpu(monkeypatch):
    monkeypatch.setattr(mx, "default_device", lambda: mx.gpu)
    assert slicing.slice_streams() == [None]
    monkeypatch.setattr(mx, "default_device", lambda: mx.cpu)
    streams = slicing.slice_streams()
    assert 1 <= len(streams) <= slicing.MAX_SLICE_STREAMS
    assert all(s is not None for s in streams)
    assert slicing.slice_streams() is streams  # made once


def test_slicing_works_in_another_thread_after_the_main_one():
    # MLX streams belong to the thread that made them: the server slices in a worker thread
    import threading

    model = tiny_model("llama")
    mask = random_mask(model, 40)
    idx = [mask.indices[i] for i in range(mask.n_layers)]
    ref = np.array(slicing.slim_copy(model, idx)(X))  # makes this thread's streams
    got, errors = [], []

    def work():
        try:
            got.append(np.array(slicing.slim_copy(model, idx)(X)))
        except Exception as err:  # noqa: BLE001  (reported below)
            errors.append(err)

    t = threading.Thread(target=work)
    t.start()
    t.join()
    assert errors == [] and len(got) == 1
    np.testing.assert_array_equal(got[0], ref)


@pytest.mark.parametrize("arch", list(ARCHS))
def test_keep_all_reproduces_source(arch):
    model = tiny_model(arch)
    ref = model(X)
    full = Mask.full(model)
    assert prune(model, full) is model
    every = slicing.slim_copy(model, [full.indices[i] for i in range(full.n_layers)])
    np.testing.assert_allclose(np.array(every(X)), np.array(ref), atol=1e-5)
    with ffn.masked(model, full.dense()):
        np.testing.assert_allclose(np.array(model(X)), np.array(ref), atol=1e-5)


@pytest.mark.parametrize("arch", list(ARCHS))
def test_tiny_slim_generates_like_masked(arch):
    model = tiny_model(arch, seed=1)
    mask = random_mask(model, 32, seed=2)
    slim = prune(model, mask)
    prompt = mx.array([5, 7, 11, 13])
    slim_tokens = [int(t) for t, _ in generate_step(prompt, slim, max_tokens=8)]
    with ffn.masked(model, mask.dense()):
        masked_tokens = [int(t) for t, _ in generate_step(prompt, model, max_tokens=8)]
    assert slim_tokens == masked_tokens
    assert len(slim_tokens) == 8


def test_per_example_masks_in_one_batch():
    model = tiny_model("llama")
    a, b = random_mask(model, 24, seed=3), random_mask(model, 24, seed=4)
    batch = mx.concatenate([X, X[:, ::-1]])
    with ffn.masked(model, mx.stack([a.dense(), b.dense()])):  # (B, L, d)
        out = model(batch)
    np.testing.assert_allclose(np.array(out[0]), np.array(prune(model, a)(X)[0]), atol=2e-5)
    np.testing.assert_allclose(
        np.array(out[1]), np.array(prune(model, b)(X[:, ::-1])[0]), atol=2e-5
    )


def test_position_dependent_masks():
    model = tiny_model("qwen3")
    a, b = random_mask(model, 24, seed=5), random_mask(model, 24, seed=6)
    T = X.shape[1]
    per_pos = mx.stack([a.dense()] * 4 + [b.dense()] * (T - 4), axis=1)  # (L, T, d)
    with ffn.masked(model, per_pos[None]):  # (1, L, T, d)
        out = model(X)
    with ffn.masked(model, a.dense()):
        first = model(X)
    # causal: positions before the switch only ever saw mask a
    np.testing.assert_allclose(np.array(out[0, :4]), np.array(first[0, :4]), atol=2e-5)
    assert not np.allclose(np.array(out[0, 4:]), np.array(first[0, 4:]), atol=1e-3)


def test_masks_are_not_model_state():
    model = tiny_model("llama")
    names = sorted(k for k, _ in nn.utils.tree_flatten(model.parameters()))
    with ffn.masked(model, random_mask(model, 10).dense()):
        inside = sorted(k for k, _ in nn.utils.tree_flatten(model.parameters()))
        model(X)
    after = sorted(k for k, _ in nn.utils.tree_flatten(model.parameters()))
    assert names == inside == after
    assert all("mask" not in k for k in after)


def test_masked_gradients_reach_the_mask():
    model = tiny_model("llama")
    m0 = mx.ones((3, 96))

    def loss(m):
        with ffn.masked(model, m):
            return model(X).sum()

    g = mx.grad(loss)(m0)
    assert g.shape == (3, 96) and float(mx.abs(g).sum()) > 0


def test_count_reports_active_parameters():
    model = tiny_model("llama")
    slim = prune(model, random_mask(model, 48))
    full, small = ffn.count(model), ffn.count(slim)
    assert small["ffn_params"] * 2 == full["ffn_params"]
    assert full["params"] - small["params"] == full["ffn_params"] // 2
    q = ffn.count(tiny_model("llama", quantize=True))
    assert q["params"] == full["params"] and q["bytes"] < full["bytes"] / 3


def test_unknown_architecture_is_probed_and_registered():
    model = tiny_model("gemma3_text")
    model.model_type = "gemma3_mystery"
    model.args.model_type = "gemma3_mystery"
    try:
        assert ffn.spec_of(model).glu is ffn.ARCHITECTURES["gemma3_text"].glu
    finally:
        ffn.ARCHITECTURES.pop("gemma3_mystery", None)


def test_mask_for_another_model_is_refused():
    model, other = tiny_model("llama"), tiny_model("llama", seed=9)
    mask = random_mask(model, 10)
    mask.model = fingerprint(model)
    prune(model, mask)
    with pytest.raises(UsageError, match="another model"):
        prune(other, mask)
