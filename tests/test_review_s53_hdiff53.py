"""Review of the fifty-third session (hdiff53): ``metrics.t_quantile`` (Student's t, used by
eval's intervals at 0.975 and items - 1 degrees of freedom) below the median and at small df.

Below the median it returned ``-t_quantile(1 - q, df)``: ``1 - q`` rounds q's digits off (at
q = 1e-10 the quantile was wrong in its 8th digit, at 1e-15 in its 4th) and is 1.0 below
q ~ 1e-16, so a valid q was refused as "q 1.0". Below df ~ 0.1 the Cornish-Fisher start is
far off (even negative), so Newton's t*t overflowed: ValueError (math domain error) or
ZeroDivisionError instead of a number. The references here are closed forms (df 1: Cauchy,
df 2) and mpmath's own regularized incomplete beta, not the code under test.
"""

import math

from mlx_ifp.evaluation.metrics import t_quantile

import pytest


def cauchy(q):  # df 1: tan(pi (q - 1/2)), written as -1/tan(pi q) to keep a small q's digits
    return -1 / math.tan(math.pi * q) if q < 0.5 else 1 / math.tan(math.pi * (1 - q))


def df2(q):  # df 2: (2q - 1) / sqrt(2 q (1 - q))
    return (2 * q - 1) / math.sqrt(2 * q * (1 - q))


@pytest.mark.parametrize("q", [1e-5, 1e-10, 1e-15, 1e-20, 1e-100])
@pytest.mark.parametrize("df, exact", [(1, cauchy), (2, df2)])
def test_a_lower_tail_quantile_keeps_its_digits(q, df, exact):
    """The quantile at a small q was -t_quantile(1 - q): a few digits (1e-10: 1e-7 relative
    error) or a refusal ("q 1.0" below 1e-16); now accurate to 1e-12."""
    got = t_quantile(q, df)
    assert got == pytest.approx(exact(q), rel=1e-12)
    if 1 - q < 1:  # (as before)
        assert t_quantile(1 - q, df) == pytest.approx(exact(1 - q), rel=1e-12)


@pytest.mark.parametrize("df", [0.001, 0.01, 0.05, 0.1, 0.3])
@pytest.mark.parametrize("q", [1e-10, 0.01, 0.6, 0.975, 1 - 1e-10])
def test_a_small_df_gives_its_quantile_not_a_math_error(q, df):
    """df 0.05 at 0.975 was a ZeroDivisionError, df 0.01 a math domain error; now the quantile
    (inf where t² / df is past e^700, |t| past ~1e152), as mpmath's incomplete beta gives it."""
    mp = pytest.importorskip("mpmath")
    mp.mp.dps = 40
    got = t_quantile(q, df)
    tail = min(q, 1 - q)  # P(T > |t|) = I_{df/(df+t²)}(df/2, 1/2) / 2

    def excess(log_t):  # log of the tail at t = e^log_t, less log of the wanted one
        x = df / (df + mp.e ** (2 * log_t))
        return mp.log(mp.betainc(df / 2, 0.5, 0, x, regularized=True) / 2) - mp.log(tail)

    # the root in log t, bracketed: the tail is decreasing in t
    lo, hi = mp.mpf(-50), mp.mpf(100000)
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if excess(mid) > 0 else (lo, mid)
    want = mp.e ** ((lo + hi) / 2)
    if want > mp.sqrt(df) * mp.e**350:
        assert got == (math.inf if q > 0.5 else -math.inf)
    else:
        assert got == pytest.approx(float(want) * (1 if q > 0.5 else -1), rel=1e-10)


@pytest.mark.parametrize("df", [1, 2, 3, 15, 999, 1e4, 1e6])
def test_the_intervals_quantiles_still_match_the_t_table(df):
    """Guard (passed before): the 97.5% quantile eval's intervals use."""
    table = {1: 12.706204736, 2: 4.302652730, 3: 3.182446305, 15: 2.131449546,
             999: 1.962341461, 1e4: 1.960201240, 1e6: 1.959966357}  # fmt: skip
    assert t_quantile(0.975, df) == pytest.approx(table[df], abs=1e-8)
    assert t_quantile(0.025, df) == pytest.approx(-table[df], abs=1e-8)
