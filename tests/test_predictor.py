"""The sparsity predictor: shapes, dense backbone, pooling, files, identity check, mask source."""

from mlx_ifp.common import UsageError
from mlx_ifp.core import ffn
from mlx_ifp.sources import make_source
from mlx_ifp.sources.predictor import (
    PredictorConfig,
    head_params,
    hidden_states,
    load_predictor,
    new_predictor,
    save_predictor,
)

import mlx.core as mx
import mlx.nn as nn
import numpy as np
import pytest
from tiny import ARCHS, tiny_model


@pytest.mark.parametrize("arch", list(ARCHS))
@pytest.mark.parametrize("head", ["full", "factored"])
def test_scores_shape_and_params(arch, head):
    model = tiny_model(arch)
    pred = new_predictor(model, PredictorConfig(layers=2, head=head, rank=16, factor_rank=4))
    toks = mx.array([[1, 2, 3, 4, 5], [6, 7, 8, 0, 0]])
    s = pred(toks, mx.array([5, 3]))
    L, d = len(ffn.layers(model)), ffn.d_ffn(model)
    assert s.shape == (2, L, d)
    assert mx.all(mx.isfinite(s)).item()
    counts = head_params(L, d, 64, 16, 4)
    assert pred.num_params() == counts[head]
    # the source model's weights are not the predictor's parameters
    names = [k for k, _ in nn.utils.tree_flatten(pred.parameters())]
    assert not any("layers" in n or "embed" in n for n in names)


def test_head_param_counts_smollm2_shape():
    c = head_params(30, 1536, 576, 128, 16)
    assert c["full"] > 5_900_000 and c["factored"] < c["full"] / 6


def test_backbone_runs_dense_inside_a_mask_and_stops_after_n_layers():
    model = tiny_model("llama")
    toks = mx.array([[3, 1, 4, 1, 5, 9]])
    ref = hidden_states(model, toks, 2)
    zero = mx.zeros((len(ffn.layers(model)), ffn.d_ffn(model)))
    with ffn.masked(model, zero):
        inside = hidden_states(model, toks, 2)
        masked_full = model.model(toks)
    assert mx.allclose(ref, inside).item()
    assert not mx.allclose(hidden_states(model, toks), masked_full).item()  # mask did act
    assert not mx.allclose(ref, hidden_states(model, toks, 3)).item()  # N layers, not all
    assert len(ffn.layers(model)) == 3  # layer list restored


def test_last_token_pooling_ignores_padding_and_mean_differs():
    model = tiny_model("qwen2")
    pred = new_predictor(model, PredictorConfig(layers=2, rank=8))
    pred.out.weight = mx.random.normal(pred.out.weight.shape)  # zero at init
    a = pred(mx.array([[5, 6, 7]]), mx.array([3]))
    b = pred(mx.array([[5, 6, 7, 0, 0, 0]]), mx.array([3]))
    assert mx.allclose(a, b, atol=1e-5).item()
    mean = new_predictor(model, PredictorConfig(layers=2, rank=8, pooling="mean"))
    mean.update(pred.parameters())
    assert not mx.allclose(mean(mx.array([[5, 6, 7]])), a).item()


def test_gradients_reach_only_the_head():
    model = tiny_model("llama")
    model.freeze()
    pred = new_predictor(model, PredictorConfig(layers=2, rank=8))
    pred.out.weight = mx.random.normal(pred.out.weight.shape)  # zero at init

    def loss(p):
        return (p(mx.array([[1, 2, 3]])) ** 2).sum()

    _, grads = nn.value_and_grad(pred, loss)(pred)
    flat = dict(nn.utils.tree_flatten(grads))
    assert set(flat) == {k for k, _ in nn.utils.tree_flatten(pred.trainable_parameters())}
    assert all(mx.abs(g).sum().item() > 0 for g in flat.values())


def test_save_load_roundtrip_and_wrong_model_refused(tmp_path):
    model = tiny_model("llama")
    pred = new_predictor(model, PredictorConfig(layers=2, head="factored", rank=8, factor_rank=4))
    save_predictor(pred, tmp_path)
    assert (tmp_path / "ifp_config.json").is_file()
    back = load_predictor(tmp_path, model)
    toks = mx.array([[9, 8, 7, 6]])
    assert mx.allclose(pred(toks), back(toks)).item()
    with pytest.raises(UsageError, match="another model"):
        load_predictor(tmp_path, tiny_model("llama", seed=1))
    with pytest.raises(UsageError, match="another model"):
        load_predictor(tmp_path, tiny_model("llama", intermediate_size=128))
    with pytest.raises(UsageError, match="no predictor"):
        load_predictor(tmp_path / "missing", model)


def test_predictor_mask_source(tmp_path):
    model = tiny_model("llama")
    pred = new_predictor(model, PredictorConfig(layers=1, rank=8))
    save_predictor(pred, tmp_path)
    src = make_source("predictor", path=str(tmp_path))
    mask = src.select(model, [4, 5, 6], 40)
    assert mask.indices.shape == (3, 40)
    expected = mx.sort(mx.argsort(-pred(mx.array([[4, 5, 6]]))[0], axis=-1)[:, :40], axis=-1)
    assert mx.array_equal(mask.indices, expected).item()
    with pytest.raises(UsageError, match="adapter"):
        make_source("predictor")


def test_separate_backbone_by_path(tmp_path):
    from mlx_lm.utils import save_config

    small = tiny_model("qwen2", hidden_size=32, num_attention_heads=2, num_key_value_heads=1)
    folder = tmp_path / "bb"
    folder.mkdir()
    mx.save_safetensors(
        str(folder / "model.safetensors"), dict(nn.utils.tree_flatten(small.parameters()))
    )
    cfg = {k: v for k, v in vars(small.args).items() if not k.startswith("_")}
    save_config(cfg, folder / "config.json")
    (folder / "tokenizer_config.json").write_text("{}")
    model = tiny_model("llama")
    pred = new_predictor(model, PredictorConfig(backbone=str(folder), rank=8))
    assert pred.config.hidden == 32
    assert pred(mx.array([[1, 2, 3]])).shape == (1, 3, 96)


@pytest.mark.parametrize("head", ["full", "static"])
def test_warm_start_from_a_training_free_source(head):
    from mlx_ifp.core.mask import topk_indices
    from mlx_ifp.sources import make_source

    from corpus import ByteTokenizer

    model, tok = tiny_model("llama"), ByteTokenizer()
    pred = new_predictor(model, PredictorConfig(head=head, init="static-act"), tok)
    ref = make_source("static-act", tokenizer=tok).scores(model, None)
    got = pred(mx.array([[1, 2, 3]]))[0]
    np.testing.assert_array_equal(np.array(topk_indices(got, 30)), np.array(topk_indices(ref, 30)))
    cold = new_predictor(model, PredictorConfig(head=head))
    assert float(mx.abs(cold(mx.array([[1, 2, 3]]))).max()) == 0.0
    with pytest.raises(UsageError, match="text-independent"):
        new_predictor(model, PredictorConfig(head=head, init="griffin"), tok)


def test_griffin_head_shared_channels_are_in_every_mask_and_balanced_terms_have_unit_scale():
    from mlx_ifp.core.mask import topk_indices

    model = tiny_model("llama")
    d = ffn.d_ffn(model)
    k = d // 2
    cfg = PredictorConfig(head="griffin", factor_rank=4, balanced=True, shared=0.5, k=k)
    pred = new_predictor(model, cfg)
    pred.bias = mx.random.normal(pred.bias.shape, key=mx.random.key(1)) * 50  # a loud prior
    prompts = mx.array([[5, 6, 7, 8, 9], [60, 61, 62, 63, 64]])
    scores = pred(prompts)
    shared = np.asarray(topk_indices(pred.bias, k // 2))  # the prior's top half of k
    for row in scores:
        kept = np.asarray(topk_indices(row, k))
        for layer in range(kept.shape[0]):
            assert set(shared[layer]) <= set(kept[layer])
    # balanced: a 50x prior does not drown the prompt term, the routed halves differ
    a, b = (set(np.asarray(topk_indices(s, k))[0]) for s in scores)
    assert a != b
    plain = new_predictor(model, PredictorConfig(head="griffin", factor_rank=4, k=k))
    plain.bias = pred.bias
    p, q = (set(np.asarray(topk_indices(s, k))[0]) for s in plain(prompts))
    assert p == q  # without balancing the loud prior picks every channel alone


def test_griffin_route_keeps_shared_prior_channels_and_routes_the_rest_by_griffin():
    """route: griffin = the prior's top s channels + the prompt's GRIFFIN top of the rest; a
    loud prior cannot make the routed part prompt-independent, and the prior still learns."""
    from mlx_ifp.core.mask import topk_indices
    from mlx_ifp.sources.predictor.model import griffin_features

    model = tiny_model("llama")
    d = ffn.d_ffn(model)
    k = d // 2
    cfg = PredictorConfig(head="griffin", route="griffin", shared=0.5, k=k)
    pred = new_predictor(model, cfg)
    assert set(dict(nn.utils.tree_flatten(pred.parameters()))) == {"bias"}
    pred.bias = mx.random.normal(pred.bias.shape, key=mx.random.key(1)) * 50
    prompts = mx.array([[5, 6, 7, 8, 9], [60, 61, 62, 63, 64]])
    z = np.asarray(griffin_features(model, prompts))
    shared = np.asarray(topk_indices(pred.bias, k // 2))
    kept = np.asarray(topk_indices(pred(prompts), k))  # (B, L, k)
    for b in range(2):
        for layer in range(kept.shape[1]):
            rest = np.setdiff1d(np.arange(d), shared[layer])
            routed = rest[np.argsort(-z[b, layer, rest], kind="stable")[: k - k // 2]]
            assert set(kept[b, layer]) == set(shared[layer]) | set(routed)
    assert set(kept[0, 0]) != set(kept[1, 0])
    # the trainer's extra term is zero in value and carries the prior's SoftTopK gradient
    assert float(mx.abs(pred.mask_gradient(0.5)).max()) == 0.0
    grad = mx.grad(lambda b: _weighted_mask_gradient(pred, b))(mx.arange(d) / d + pred.bias * 0)
    assert float(mx.abs(grad).sum()) > 0
    with pytest.raises(UsageError, match="route"):
        PredictorConfig(head="griffin", route="griffin").check()  # no shared part


def _weighted_mask_gradient(pred, bias):
    pred.bias = bias
    return (pred.mask_gradient(0.5) * mx.arange(bias.shape[-1])).sum()


def test_reweight_route_starts_as_griffin_route_and_its_learned_part_is_bounded():
    """route: reweight = route griffin at init; its learned gain and offset change the routed
    ranking within bounds, so a huge offset cannot force a channel into every mask."""
    from mlx_ifp.core.mask import topk_indices
    from mlx_ifp.sources.predictor.model import griffin_features

    model = tiny_model("llama")
    d = ffn.d_ffn(model)
    k = d // 2
    prompts = mx.array([[5, 6, 7, 8, 9], [60, 61, 62, 63, 64]])
    ref = new_predictor(model, PredictorConfig(head="griffin", route="griffin", shared=0.5, k=k))
    rw = new_predictor(model, PredictorConfig(head="griffin", route="reweight", shared=0.5, k=k))
    assert set(dict(nn.utils.tree_flatten(rw.parameters()))) == {"bias", "log_gain", "offset"}
    prior = mx.random.normal(ref.bias.shape, key=mx.random.key(1))
    ref.bias = rw.bias = prior
    np.testing.assert_array_equal(np.asarray(topk_indices(rw(prompts), k)),
                                  np.asarray(topk_indices(ref(prompts), k)))  # fmt: skip
    z = griffin_features(model, prompts)
    rw.offset = mx.full(rw.offset.shape, 1e6)
    rw.log_gain = mx.full(rw.log_gain.shape, -1e6)
    routed = np.asarray(rw.from_griffin(z)) - np.asarray(ref.from_griffin(z))  # = -z/2 + bound
    np.testing.assert_allclose(routed, -0.5 * np.asarray(z) + 1.0, rtol=1e-5, atol=1e-4)
    bounded = new_predictor(model, PredictorConfig(head="griffin", route="reweight", k=k,
                                                   route_bound=0.0))  # fmt: skip
    bounded.log_gain = mx.full(bounded.log_gain.shape, 3.0)
    bounded.offset = mx.full(bounded.offset.shape, 1e6)  # bound 0: only the gain acts
    np.testing.assert_array_equal(np.asarray(topk_indices(bounded(prompts), k)),
                                  np.asarray(topk_indices(z, k)))  # fmt: skip
    # no shared part: no prior term for the trainer; the routed scores carry the gradient
    assert bounded.mask_gradient(0.5) is None
    with pytest.raises(UsageError, match="reweight"):
        PredictorConfig(head="static", route="reweight").check()
    with pytest.raises(UsageError, match="route_bound"):
        PredictorConfig(head="griffin", route="reweight", route_bound=-1).check()


def test_probe_rank_spread_is_zero_for_one_mask_and_blind_to_a_lifted_shared_part():
    from mlx_ifp.core.mask import topk_indicator
    from mlx_ifp.train.diversity import diversity

    base = mx.random.normal((2, 16), key=mx.random.key(0))
    same = [base, base * 3.0 + 1.0]  # one ranking for both prompts: collapsed
    out = diversity([topk_indicator(s, 8) for s in same], same, ["math", "code"])
    assert out["rank_std"] == 0.0 and out["jaccard_across"] == 1.0
    other = [base, mx.random.normal((2, 16), key=mx.random.key(1))]
    lifted = [s + 1e3 * (mx.arange(16) < 4) for s in other]  # a shared part far above the rest
    plain = diversity([topk_indicator(s, 8) for s in other], other, ["math", "code"])
    high = diversity([topk_indicator(s, 8) for s in lifted], lifted, ["math", "code"])
    assert plain["rank_std"] > 0.1 and high["rank_std"] > 0.05
    assert high["score_std"] < 0.01  # what the old measure reads for such scores


def test_diversity_jaccard_matches_each_pair_counted_by_hand():
    from mlx_ifp.train.diversity import diversity

    import numpy as np

    rng = np.random.default_rng(0)
    masks = [(rng.random((3, 20)) < p).astype(np.float32) for p in (0.2, 0.5, 0.5, 0.8, 0.0)]
    domains = ["math", "math", "code", "code", "prose"]

    def pair(a, b):  # mean over layers of |a & b| / |a | b|, an empty union counting 0
        both, either = (a * b).sum(-1), np.maximum(a, b).sum(-1)
        return float(np.mean(np.where(either > 0, both / np.maximum(either, 1), 0.0)))

    want = {"within": [], "across": []}
    for i in range(5):
        for j in range(i + 1, 5):
            want["within" if domains[i] == domains[j] else "across"].append(
                pair(masks[i], masks[j])
            )
    out = diversity([mx.array(m) for m in masks], [mx.array(m) for m in masks], domains)
    assert out["jaccard_within"] == pytest.approx(np.mean(want["within"]), abs=1e-6)
    assert out["jaccard_across"] == pytest.approx(np.mean(want["across"]), abs=1e-6)
