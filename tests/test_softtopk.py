"""SoftTopK: exact sum, agreement with a float64 reference, implicit gradient, edge cases."""

import mlx_ifp  # noqa: F401, I001  (loads OpenBLAS before mlx.core)
import mlx.core as mx
import numpy as np
import pytest

from mlx_ifp.common import UsageError
from mlx_ifp.core.mask import (
    eps_schedule,
    soft_topk,
    topk_indicator,
    topk_indices,
    training_mask,
)


def ref_soft_topk(s: np.ndarray, k: int, eps: float) -> np.ndarray:
    """float64 bisection on a (an algorithm independent of the sort-based solver)."""
    t = np.asarray(s, np.float64) / eps
    lo = -t.max() + np.log(k / t.size)  # f(lo) <= k
    hi = -np.sort(t)[-k]  # f(hi) >= k
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if np.minimum(1.0, np.exp(np.minimum(t + mid, 0.0))).sum() < k:
            lo = mid
        else:
            hi = mid
    return np.exp(np.minimum(t + 0.5 * (lo + hi), 0.0))


def ref_jacobian(s: np.ndarray, k: int, eps: float, h: float = 1e-6) -> np.ndarray:
    """Central finite-difference Jacobian J[i, j] = dl_i / ds_j of the float64 reference."""
    n = s.size
    jac = np.zeros((n, n))
    for j in range(n):
        d = np.zeros(n)
        d[j] = h
        jac[:, j] = (ref_soft_topk(s + d, k, eps) - ref_soft_topk(s - d, k, eps)) / (2 * h)
    return jac


@pytest.mark.parametrize("k", [1, 7, 64, 200])
@pytest.mark.parametrize("eps", [1e-3, 0.1, 1.0, 10.0])
def test_rows_sum_to_k(k, eps):
    s = mx.random.normal((2, 5, 256), key=mx.random.key(k))
    l_ = soft_topk(s, k, eps)
    assert l_.shape == s.shape and l_.dtype == mx.float32
    np.testing.assert_allclose(np.array(mx.sum(l_, axis=-1)), k, rtol=1e-4)
    assert float(mx.min(l_)) >= 0.0 and float(mx.max(l_)) <= 1.0


@pytest.mark.parametrize(("n", "k", "eps"), [(8, 3, 0.5), (16, 5, 1.0), (64, 10, 0.05)])
def test_matches_float64_reference(n, k, eps):
    s = np.random.default_rng(n).normal(size=(6, n)).astype(np.float32)
    got = np.array(soft_topk(mx.array(s), k, eps))
    want = np.stack([ref_soft_topk(row, k, eps) for row in s])
    np.testing.assert_allclose(got, want, atol=2e-5)


@pytest.mark.parametrize(("n", "k", "eps"), [(8, 3, 0.5), (12, 4, 1.0), (16, 2, 0.7)])
def test_vjp_matches_finite_difference_jacobian(n, k, eps):
    rng = np.random.default_rng(100 + n)
    s = rng.normal(size=(3, n))
    g = rng.normal(size=(3, n))
    _, (vjp,) = mx.vjp(
        lambda x: soft_topk(x, k, eps), [mx.array(s, mx.float32)], [mx.array(g, mx.float32)]
    )
    want = np.stack([g[r] @ ref_jacobian(s[r], k, eps) for r in range(3)])
    np.testing.assert_allclose(np.array(vjp), want, atol=1e-4, rtol=1e-3)


def test_grad_matches_float32_central_difference():
    rng = np.random.default_rng(7)
    s = mx.array(rng.normal(size=(4, 10)), mx.float32)
    w = mx.array(rng.normal(size=(4, 10)), mx.float32)
    d = mx.array(rng.normal(size=(4, 10)), mx.float32)
    loss = lambda x: mx.sum(soft_topk(x, 3, 0.8) * w)  # noqa: E731
    grad = mx.grad(loss)(s)
    h = 1e-2
    fd = (loss(s + h * d) - loss(s - h * d)).item() / (2 * h)
    assert abs(mx.sum(grad * d).item() - fd) < 2e-3 * max(1.0, abs(fd))


def test_gradient_is_zero_on_clipped_and_sums_to_zero():
    s = mx.array([[10.0, 9.0, 0.1, 0.0, -0.1, -5.0]])
    w = mx.array([[1.0, -2.0, 3.0, 0.5, -1.0, 2.0]])
    l_ = soft_topk(s, 3, 0.3)
    assert l_[0, 0].item() == 1.0 and l_[0, 1].item() == 1.0
    grad = mx.grad(lambda x: mx.sum(soft_topk(x, 3, 0.3) * w))(s)
    assert grad[0, 0].item() == 0.0 and grad[0, 1].item() == 0.0
    assert abs(mx.sum(grad).item()) < 1e-5  # adding a constant to all scores changes nothing
    assert float(mx.max(mx.abs(grad))) > 1e-2


def test_small_eps_approaches_hard_topk():
    n, k = 64, 9
    perm = np.random.default_rng(0).permutation(n).astype(np.float32)  # spacing 1
    s = mx.array(np.stack([perm, perm[::-1].copy()]))
    l_ = soft_topk(s, k, 1e-3)
    hard = topk_indicator(s, k)
    assert float(mx.max(mx.abs(l_ - hard))) < 1e-3


def test_ties_give_uniform_mass():
    l_ = soft_topk(mx.full((3, 10), 2.5), 3, 1e-3)
    np.testing.assert_allclose(np.array(l_), 0.3, rtol=1e-6)
    l2 = soft_topk(mx.array([[5.0, 5.0, 5.0, 0.0, 0.0]]), 2, 1e-3)
    np.testing.assert_allclose(np.array(l2), [[2 / 3, 2 / 3, 2 / 3, 0.0, 0.0]], atol=1e-6)
    grad = mx.grad(lambda x: mx.sum(soft_topk(x, 3, 1e-3) * mx.arange(10)))(mx.zeros((2, 10)))
    assert not bool(mx.any(mx.isnan(grad)))


@pytest.mark.parametrize("k", [1, 50, 999])
def test_large_score_range_is_stable(k):
    rng = np.random.default_rng(k)
    wide = rng.uniform(-1e4, 1e4, size=(3, 1000))
    lopsided = np.full((1, 1000), -1e4) + rng.uniform(0, 1e-2, size=(1, 1000))
    lopsided[0, 0] = 1e4  # the boundary sits 2e7 eps below the maximum
    s = mx.array(np.concatenate([wide, lopsided]), mx.float32)
    l_ = soft_topk(s, k, 1e-3)
    assert bool(mx.all(mx.isfinite(l_)))
    np.testing.assert_allclose(np.array(mx.sum(l_, axis=-1)), k, rtol=1e-4)
    grad = mx.grad(lambda x: mx.sum(soft_topk(x, k, 1e-3) * x))(s)
    assert bool(mx.all(mx.isfinite(grad)))


def test_k_equals_n_gives_ones_and_no_gradient():
    s = mx.random.normal((2, 7))
    assert bool(mx.all(soft_topk(s, 7, 0.1) == 1.0))
    grad = mx.grad(lambda x: mx.sum(soft_topk(x, 7, 0.1) * mx.arange(7)))(s)
    assert bool(mx.all(grad == 0.0))


@pytest.mark.parametrize("dtype", [mx.float16, mx.bfloat16])
def test_low_precision_input_keeps_dtype(dtype):
    s = mx.random.normal((2, 3, 128)).astype(dtype)
    l_ = soft_topk(s, 20, 0.1)
    assert l_.dtype == dtype
    np.testing.assert_allclose(np.array(mx.sum(l_.astype(mx.float32), axis=-1)), 20, rtol=1e-2)


def test_bad_arguments_raise():
    s = mx.zeros((2, 4))
    for k, eps in [(0, 1.0), (5, 1.0), (2, 0.0), (2, -1.0)]:
        with pytest.raises(UsageError):
            soft_topk(s, k, eps)
    with pytest.raises(UsageError):
        eps_schedule(1.0, 0.1, 10, kind="cosine")


def test_topk_indicator_breaks_ties_by_lowest_index():
    x = mx.array([[1.0, 3.0, 3.0, 0.0, 3.0, 3.0], [2.0, 2.0, 2.0, 2.0, 2.0, 2.0]])
    ind = topk_indicator(x, 3)
    assert ind.tolist() == [[0, 1, 1, 0, 1, 0], [1, 1, 1, 0, 0, 0]]
    assert topk_indices(x, 3).tolist() == [[1, 2, 4], [0, 1, 2]]
    assert topk_indices(x, 3).dtype == mx.int32


def test_topk_indices_match_numpy():
    s = np.random.default_rng(3).normal(size=(2, 4, 300)).astype(np.float32)
    got = np.array(topk_indices(mx.array(s), 37))
    want = np.sort(np.argsort(-s, axis=-1)[..., :37], axis=-1)
    np.testing.assert_array_equal(got, want)
    ind = np.array(topk_indicator(mx.array(s), 37))
    assert (ind.sum(-1) == 37).all() and set(np.unique(ind)) == {0.0, 1.0}


def test_training_mask_has_k_nonzeros_and_gradient_flows():
    s = mx.random.normal((2, 3, 40), key=mx.random.key(1))
    w = mx.random.normal((2, 3, 40), key=mx.random.key(2))
    m = training_mask(s, 6, 0.5)
    assert (np.array(mx.sum(m != 0, axis=-1)) == 6).all()
    np.testing.assert_array_equal(np.array(m != 0), np.array(topk_indicator(s, 6) > 0))
    grad = mx.grad(lambda x: mx.sum(training_mask(x, 6, 0.5) * w))(s)
    assert bool(mx.all(mx.isfinite(grad))) and float(mx.max(mx.abs(grad))) > 1e-3


def test_works_under_compile_and_value_and_grad():
    x = mx.random.normal((2, 5, 16), key=mx.random.key(3))
    params = {"w": mx.random.normal((16, 32), key=mx.random.key(4))}
    target = mx.random.normal((2, 5, 32), key=mx.random.key(5))

    def loss_fn(p):
        m = training_mask(x @ p["w"], 8, 0.5)
        return mx.mean((m - target) ** 2)

    step = mx.value_and_grad(loss_fn)
    v0, g0 = step(params)
    v1, g1 = mx.compile(step)(params)
    assert abs(v0.item() - v1.item()) < 1e-6
    np.testing.assert_allclose(np.array(g1["w"]), np.array(g0["w"]), atol=1e-6)
    assert float(mx.max(mx.abs(g0["w"]))) > 0


def test_eps_schedule():
    exp = eps_schedule(1.0, 0.01, 100)
    assert exp(0) == pytest.approx(1.0) and exp(100) == pytest.approx(0.01)
    assert exp(50) == pytest.approx(0.1) and exp(1000) == pytest.approx(0.01)
    lin = eps_schedule(1.0, 0.0001, 10, kind="linear")
    assert lin(5) == pytest.approx(0.50005) and lin(10) == pytest.approx(0.0001)
    assert eps_schedule(0.3, 0.01, 10, kind="constant")(7) == 0.3
