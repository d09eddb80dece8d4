"""Review (s53): eval's 95% intervals of a token-weighted mean (nll, kl, top1; ppl from nll) were
the mean ± 1.96 SE, the normal quantile, about 9% too narrow at 16 items: over m items the
standard error has m - 1 degrees of freedom, so the quantile is Student's t (2.131 at 15 df).

- ``metrics.t_quantile`` is Student's t quantile (regularized incomplete beta through
  ``math.lgamma``, Newton from a Cornish-Fisher start), checked here against printed table
  values, not against itself;
- ``spread``'s mean intervals are mean ± t_{0.975, m-1} · SE, reaching 1.96 as m grows; the
  rates keep their Wilson interval (its z is a score interval's, not a t's).

Every test here fails on the code it was written against (no ``t_quantile``; ± 1.96 SE).
"""

import math

import mlx_ifp  # first: the optimized BLAS before mlx.core  # noqa: F401
from mlx_ifp.evaluation import metrics

import numpy as np
import pytest

# Student's t table, two-sided 95% (t_{0.975}), to 3 decimals
TABLE_975 = {1: 12.706, 2: 4.303, 5: 2.571, 15: 2.131, 30: 2.042, 100: 1.984}


def items_of(per_token, tokens):
    """Per-item sums as ``token_metrics`` gives them: each value times the item's tokens."""
    return [{"tokens": t, "nll": v * t, "kl": v * t / 10, "top1": round(0.5 * t)}
            for v, t in zip(per_token, tokens, strict=True)]  # fmt: skip


def row_of(items, **extra):
    return metrics.spread({"domain": "math", **metrics.summarise(items), **extra}, items)


def test_the_t_quantile_matches_the_printed_table():
    """t_{0.975} at 1, 2, 5, 15, 30, 100 df to 3 decimals; other levels and the lower tail too
    (t_{0.95}: 6.314 at 1 df, 1.753 at 15; t_{0.995}: 63.657 at 1 df, 2.947 at 15)."""
    for df, want in TABLE_975.items():
        assert round(metrics.t_quantile(0.975, df), 3) == want, df
    for q, df, want in ((0.95, 1, 6.314), (0.95, 15, 1.753), (0.995, 1, 63.657),
                        (0.995, 15, 2.947), (0.9, 3, 1.638)):  # fmt: skip
        assert round(metrics.t_quantile(q, df), 3) == want, (q, df)
    assert metrics.t_quantile(0.025, 15) == pytest.approx(-metrics.t_quantile(0.975, 15))
    assert metrics.t_quantile(0.5, 7) == 0.0
    # closed forms: 1 df is Cauchy's tan(pi (q - 1/2)); 2 df is (2q - 1) sqrt(2 / (4q(1 - q)))
    assert metrics.t_quantile(0.975, 1) == pytest.approx(math.tan(math.pi * 0.475), rel=1e-10)
    assert metrics.t_quantile(0.975, 2) == pytest.approx(0.95 * math.sqrt(2 / 0.0975), rel=1e-10)


def test_the_quantile_reaches_the_normal_one_as_the_degrees_grow():
    prev = math.inf
    for df in (10, 100, 1000, 10_000, 100_000):
        t = metrics.t_quantile(0.975, df)
        assert 1.959964 < t < prev, df  # always wider than the normal, narrowing
        prev = t
    assert metrics.t_quantile(0.975, 100_000) == pytest.approx(1.959964, abs=1e-4)


def test_sixteen_items_get_the_t_tables_width_not_the_normals():
    """16 items, 15 df: the half-width is 2.131 standard errors (it was 1.960, 8% short)."""
    rng = np.random.default_rng(3)
    row = row_of(items_of(rng.normal(2.0, 0.5, 16), rng.integers(5, 40, 16).tolist()))
    for key in ("nll", "kl", "top1"):
        lo, hi = row[f"{key}_ci"]
        assert (hi - lo) / 2 == pytest.approx(2.131 * row[f"{key}_se"], rel=5e-4), key
        assert (hi - lo) / 2 / row[f"{key}_se"] > 2.1, key
    assert row["ppl_ci"] == pytest.approx([math.exp(v) for v in row["nll_ci"]])


def test_four_items_by_hand_and_many_items_near_1_96():
    """Per-token values 1, 2, 3, 4 (equal tokens): SE sqrt(5/3)/2, 3 df, t 3.182."""
    row = row_of(items_of([1.0, 2.0, 3.0, 4.0], [10, 10, 10, 10]))
    se = math.sqrt(5 / 3) / 2
    assert row["nll_ci"] == pytest.approx([2.5 - 3.182446 * se, 2.5 + 3.182446 * se], rel=1e-6)
    rng = np.random.default_rng(0)
    big = row_of(items_of(rng.normal(2.0, 0.5, 4000), rng.integers(5, 40, 4000).tolist()))
    lo, hi = big["nll_ci"]
    assert (hi - lo) / 2 / big["nll_se"] == pytest.approx(1.96, abs=1e-3)


def test_the_rates_keep_their_wilson_interval():
    """3 of 4 replies right: Wilson 95% [0.3006, 0.9544] (z 1.96: a score interval, no t)."""
    row = row_of(items_of([1.0, 2.0], [5, 5]), exact_match=0.75, gen_n=4)
    assert row["exact_match_ci"] == pytest.approx([0.3006, 0.9544], abs=1e-4)
