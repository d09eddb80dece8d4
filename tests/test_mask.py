"""Keep budgets, mask files, mask sources and the slim-model cache (tiny models)."""

import json

from mlx_ifp.common import UsageError
from mlx_ifp.core import slicing
from mlx_ifp.core.mask import Budget, Mask, fingerprint
from mlx_ifp.inference import pruner as pruner_module
from mlx_ifp.inference.pruner import Pruner, SlimCache
from mlx_ifp.sources import make_source

import mlx.core as mx
import numpy as np
import pytest
from reference import griffin_scores
from tiny import tiny_model


@pytest.mark.parametrize(
    "keep, k",
    [("0.5", 768), (0.5, 768), ("1", 1536), (1.0, 1536), ("768", 768), (100, 100), ("0.0001", 1)],
)
def test_budget(keep, k):
    assert Budget.parse(keep).channels(1536) == k


def test_budget_align():
    assert Budget.parse(0.33, 64).channels(1536) == 512
    assert Budget.parse(1500, 128).channels(1536) == 1536


@pytest.mark.parametrize("keep", ["0", "-0.5", "1.5", "2000", "abc", ""])
def test_budget_rejects(keep):
    with pytest.raises(UsageError):
        Budget.parse(keep).channels(1536)


def test_mask_roundtrip_and_refusal(tmp_path):
    model = tiny_model("llama")
    mask = make_source("random", seed=3).select(model, [1, 2, 3], 40)
    assert mask.indices.shape == (3, 40)
    assert np.all(np.diff(np.array(mask.indices), axis=-1) > 0)  # sorted, unique
    path = mask.save(tmp_path / "m")
    assert path.exists() and path.with_suffix(".json").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["m.json", "m.safetensors"]  # no temps
    back = Mask.load(tmp_path / "m.safetensors", model)
    np.testing.assert_array_equal(np.array(back.indices), np.array(mask.indices))
    assert back.source == mask.source and back.model == fingerprint(model)
    other = tiny_model("llama", intermediate_size=128)
    with pytest.raises(UsageError, match="another model"):
        Mask.load(path, other)
    meta = json.loads(path.with_suffix(".json").read_text())
    assert meta["k"] == 40 and meta["model"]["d_ffn"] == 96


def test_mask_load_errors(tmp_path):
    with pytest.raises(UsageError, match="not found"):
        Mask.load(tmp_path / "missing")
    (tmp_path / "bad.safetensors").write_text("junk")
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(UsageError, match="not a valid"):
        Mask.load(tmp_path / "bad.safetensors")


def test_dense_mask_has_k_ones_per_layer():
    model = tiny_model("llama")
    mask = make_source("static").select(model, [1], 30)
    dense = np.array(mask.dense())
    assert dense.shape == (3, 96) and (dense.sum(-1) == 30).all()


def test_griffin_scores_per_prompt():
    model = tiny_model("llama")
    src = make_source("griffin")
    a = src.scores(model, mx.array([1, 2, 3, 4, 5]))
    b = src.scores(model, mx.array([9, 8, 7]))
    # each token's activation row has unit norm, so squared scores sum to the token count
    np.testing.assert_allclose(np.array((a * a).sum(-1)), 5.0, rtol=1e-4)
    np.testing.assert_allclose(np.array((b * b).sum(-1)), 3.0, rtol=1e-4)
    # and each is GRIFFIN's score of its own prompt, written out in numpy
    np.testing.assert_allclose(np.array(a), griffin_scores(model, [1, 2, 3, 4, 5]), rtol=1e-4)
    np.testing.assert_allclose(np.array(b), griffin_scores(model, [9, 8, 7]), rtol=1e-4)
    with pytest.raises(UsageError):
        src.scores(model, mx.array([], dtype=mx.int32))


def test_static_sources_ignore_the_text():
    model = tiny_model("qwen2")
    for name in ("static", "random"):
        src = make_source(name)
        a = src.select(model, [1, 2], 20)
        b = src.select(model, [7, 7, 7], 20)
        np.testing.assert_array_equal(np.array(a.indices), np.array(b.indices))
    g, u, d = slicing.channel_norms(model)
    w = make_source("static").scores(model, mx.array([1]))
    np.testing.assert_allclose(np.array(w), np.array(g * u * d), rtol=1e-5)


def test_full_source_keeps_everything():
    model = tiny_model("llama")
    mask = make_source("full").select(model, [1], 10)
    assert mask.k == 96


def test_unknown_source():
    with pytest.raises(UsageError, match="unknown mask source"):
        make_source("nope")


def test_cache_hit_does_no_selection_and_no_slicing(monkeypatch):
    model = tiny_model("llama")
    pruner = Pruner(model, source="griffin", keep=0.25)
    calls = {"select": 0, "slice": 0}
    real_select, real_slice = pruner.source.select, pruner_module.slim_copy

    def counting_select(*a, **kw):
        calls["select"] += 1
        return real_select(*a, **kw)

    def counting_slice(*a, **kw):
        calls["slice"] += 1
        return real_slice(*a, **kw)

    monkeypatch.setattr(pruner.source, "select", counting_select)
    monkeypatch.setattr(pruner_module, "slim_copy", counting_slice)  # where prune looks it up
    slim1, info1 = pruner.slim_for([4, 5, 6])
    slim2, info2 = pruner.slim_for([4, 5, 6])
    assert calls == {"select": 1, "slice": 1}
    assert not info1.cache_hit and info2.cache_hit and slim2 is slim1
    assert info2.select_s == 0 and info2.slice_s == 0
    pruner.slim_for([1, 2])
    assert calls == {"select": 2, "slice": 2}
    assert info1.active_fraction < 1


def test_lru_evicts_oldest():
    cache = SlimCache(maxsize=2)
    for i in range(3):
        cache.put(("k", i), (None, i))
    assert cache.get(("k", 0)) is None and cache.get(("k", 2)) == (None, 2) and len(cache) == 2


def test_served_top_k_is_the_trained_top_k_on_ties():
    """Inference (Mask) and training (hard straight-through masks) break ties the same way.

    The old argpartition rule agreed on this CPU too (its tie order is unspecified, and was the
    risk); this pins the one rule both now share."""
    from mlx_ifp.core.mask import topk_indicator, topk_indices

    scores = mx.array([[1.0, 2.0, 2.0, 2.0, 0.5, 2.0], [3.0, 3.0, 3.0, 3.0, 3.0, 3.0]])
    served = np.asarray(topk_indices(scores, 3))
    trained = np.asarray(topk_indicator(scores, 3))
    for row in range(2):
        assert sorted(np.flatnonzero(trained[row])) == sorted(served[row])
    assert served.tolist() == [[1, 2, 3], [0, 1, 2]]  # ties to the lowest index


@pytest.mark.parametrize("d, k, levels", [(1536, 768, 4), (576, 200, 2), (8960, 4480, 3)])
def test_top_k_on_ties_matches_a_stable_numpy_reference(d, k, levels):
    """Model-sized rows with heavy ties, checked against numpy's stable sort (independent of
    MLX): the k largest, ties to the lowest index, on every backend. MLX's CPU argpartition
    (the old rule) happens to pick the lowest tied indices too, so on CPU this pins the rule;
    on a GPU, where argpartition's tie order is its own, it is the check that matters."""
    from mlx_ifp.core.mask import topk_indicator, topk_indices

    rng = np.random.default_rng(d + k)
    s = rng.integers(0, levels, size=(6, d)).astype(np.float32)
    order = np.argsort(-s, axis=-1, kind="stable")[:, :k]
    expect = np.sort(order, axis=-1)
    assert np.array_equal(np.asarray(topk_indices(mx.array(s), k)), expect)
    trained = np.asarray(topk_indicator(mx.array(s), k))
    assert np.array_equal(np.sort(np.argwhere(trained)[:, 1].reshape(6, k), axis=-1), expect)
