"""Review (s52): ``mlx_ifp eval``'s means carried no uncertainty, so two mask sources at one keep
could not be told apart from noise.

- every per-domain mean of an eval row now has a standard error and a 95% interval over the
  test items (``<key>_se``, ``<key>_ci``; ``ppl_ci``): nll / kl / top1 are token-weighted, so
  the ratio estimator over items; exact_match / pass@1 are means over the generated replies
  (Wilson interval);
- each row of a domain but the first non-dense one has ``paired``: its difference from that
  row with a seeded paired bootstrap interval (tools/paired_ci.py's, now imported from the
  package);
- the table shows ``±`` half-widths on a second line of the cell (no wider), the markdown
  inline; ``plot quality`` draws error bars when the report has the intervals.

Every test here fails on the code it was written against (no such keys or functions).
"""

import json
import math
import random
import sys
from pathlib import Path

import mlx_ifp  # first: the optimized BLAS before mlx.core  # noqa: F401
from mlx_ifp.cli import app
from mlx_ifp.evaluation import metrics, plot_quality, plots
from mlx_ifp.evaluation import run as ev

import numpy as np
import pytest
from typer.testing import CliRunner

ROOT = Path(__file__).resolve().parents[1]


def items_of(per_token, tokens):
    """Per-item sums as ``token_metrics`` gives them: each value times the item's tokens."""
    return [{"tokens": t, "nll": v * t, "kl": v * t / 10, "top1": round(0.5 * t)}
            for v, t in zip(per_token, tokens, strict=True)]  # fmt: skip


def row_of(items, **extra):
    return metrics.spread({"domain": "math", **metrics.summarise(items), **extra}, items)


# ---------------------------------------------------------------- one row's intervals


def test_the_standard_error_is_the_ratio_estimators_by_hand():
    """Two items of 1 and 3 tokens summing 1 and 9: r = 10/4 = 2.5, residuals -1.5 and +1.5,
    SE = sqrt(2/1 * 4.5) / 4 = 0.75. Equal tokens: the sample sd of the per-token values over
    sqrt(m): values 1, 2, 3, 4 give sqrt(5/3) / 2."""
    assert metrics.ratio_se([1.0, 9.0], [1, 3]) == pytest.approx(0.75, abs=1e-12)
    row = row_of(items_of([1.0, 2.0, 3.0, 4.0], [10, 10, 10, 10]))
    assert row["nll"] == pytest.approx(2.5)
    assert row["nll_se"] == pytest.approx(math.sqrt(5 / 3) / 2, abs=1e-12)
    # 4 items: Student's t at 3 df, 3.182 (s53, tests/test_review_s53_hci.py; it was z 1.960)
    assert row["nll_ci"] == pytest.approx([2.5 - 3.182446 * 0.6454972, 2.5 + 3.182446 * 0.6454972])
    assert row["ppl_ci"] == pytest.approx([math.exp(v) for v in row["nll_ci"]])


def test_a_generation_rate_has_the_binomial_error_and_the_wilson_interval():
    """3 of 4 replies right: SE sqrt(0.75 * 0.25 / 3) = 0.25; Wilson 95% [0.3006, 0.9544]."""
    row = row_of(items_of([1.0, 2.0], [5, 5]), exact_match=0.75, gen_n=4)
    assert row["exact_match_se"] == pytest.approx(0.25, abs=1e-12)
    assert row["exact_match_ci"] == pytest.approx([0.3006, 0.9544], abs=1e-4)
    none = row_of(items_of([1.0, 2.0], [5, 5]), **{"pass@1": None, "gen_n": 0})
    assert none["pass@1_se"] is None and none["pass@1_ci"] is None


def test_the_interval_holds_the_mean_and_narrows_with_more_items():
    rng = np.random.default_rng(0)
    widths = []
    for m in (8, 32, 128):
        vals, toks = rng.normal(2.0, 0.5, m), rng.integers(5, 40, m)
        row = row_of(items_of(vals, toks.tolist()))
        for key in ("nll", "kl", "top1", "ppl"):
            lo, hi = row[f"{key}_ci"]
            assert lo <= row[key] <= hi, (m, key)
        widths.append(row["nll_ci"][1] - row["nll_ci"][0])
    assert widths[0] > widths[1] > widths[2] > 0, widths


def test_one_item_has_no_interval_and_the_json_says_null():
    row = row_of(items_of([1.0], [7]))
    assert row["nll_se"] is None and row["nll_ci"] is None and row["ppl_ci"] is None
    assert json.loads(json.dumps(row))["kl_ci"] is None


# ---------------------------------------------------------------- paired differences


def test_identical_rows_differ_by_exactly_zero_with_zero_width():
    items = items_of([1.0, 2.5, 0.3, 4.0, 1.1], [3, 9, 4, 12, 6])
    picks = metrics.draws(len(items), 500, random.Random(0))
    for key in ("nll", "kl", "top1"):
        vals = [it[key] for it in items]
        got = metrics.paired_interval(vals, vals, [it["tokens"] for it in items], picks)
        assert got["diff"] == got["lo"] == got["hi"] == 0.0 and got["p_not_below"] == 1.0
    rows = [row_of(items, source=s, k=4, mode="input", exact_match=0.5, gen_n=2)
            for s in ("griffin", "other")]  # fmt: skip
    for r in rows:
        r["gen_items"] = [1, 0]
    out = metrics.intervals(rows, [items, items])
    assert "paired" not in out[0] and "gen_items" not in out[1]
    paired = out[1]["paired"]
    assert paired["vs"] == {"source": "griffin", "k": 4, "mode": "input"}
    for key in ("nll", "kl", "top1", "exact_match"):
        assert paired[key]["diff"] == paired[key]["lo"] == paired[key]["hi"] == 0.0, key


def test_a_constant_shift_is_the_difference_row_minus_the_first_non_dense_row():
    toks = [3, 9, 4, 12, 6, 8]
    base = items_of([1.0, 2.5, 0.3, 4.0, 1.1, 2.0], toks)
    worse = [{**it, "nll": it["nll"] + 0.25 * it["tokens"]} for it in base]
    rows = [row_of(base, source="full", k=8, mode="input"),
            row_of(base, source="griffin", k=4, mode="input"),
            row_of(worse, source="random", k=4, mode="input")]  # fmt: skip
    out = metrics.intervals(rows, [base, base, worse])
    assert "paired" not in out[1]  # the reference: the first row that is not dense
    got = out[2]["paired"]["nll"]
    assert got["diff"] == pytest.approx(0.25) and got["lo"] == pytest.approx(0.25)
    assert out[0]["paired"]["vs"]["source"] == "griffin"  # dense against it too


def test_paired_ci_tool_draws_as_before_seed_for_seed():
    """tools/paired_ci.py's ``interval`` now runs the package's: the numbers of its old pure-
    Python loop (written out here), so the intervals quoted in docs/ are reproduced."""
    sys.path.insert(0, str(ROOT / "tools"))
    from paired_ci import interval

    r = random.Random(3)
    a = [{"tokens": r.randrange(1, 40), "nll": r.random() * 40} for _ in range(13)]
    b = [{"tokens": x["tokens"], "nll": r.random() * 40} for x in a]

    def diff(idx):
        n = sum(a[i]["tokens"] for i in idx)
        return (sum(a[i]["nll"] for i in idx) - sum(b[i]["nll"] for i in idx)) / max(n, 1)

    rng = random.Random(7)
    old = sorted(diff([rng.randrange(13) for _ in range(13)]) for _ in range(400))
    got = interval(a, b, "nll", 400, random.Random(7))
    assert got["lo"] == pytest.approx(old[10], abs=1e-12)
    assert got["hi"] == pytest.approx(old[389], abs=1e-12)
    assert got["p_not_below"] == sum(d >= 0 for d in old) / 400


# ---------------------------------------------------------------- eval as a user runs it


def test_eval_rows_gain_intervals_and_keep_their_old_values(cli_world, monkeypatch):
    from mlx_ifp.bench.models import synthetic_tokenizer

    from tiny import tiny_model

    _, corpus = cli_world
    cfg = ev.EvalConfig(domains=("math",), sources=("full", "griffin", "random"), keeps=(0.5,),
                        modes=("input",), limit=4, gen_limit=2,
                        max_tokens={"math": 4, "code": 4})  # fmt: skip
    net, tok = tiny_model("llama"), synthetic_tokenizer(128)
    new = ev.evaluate(net, tok, corpus, cfg, progress=False)["results"]
    with monkeypatch.context() as mp:  # the rows as they were: no intervals added
        mp.setattr(ev, "intervals", lambda rows, scores: rows)
        old = ev.evaluate(net, tok, corpus, cfg, progress=False)["results"]
    assert len(old) == len(new) == 3
    for o, n in zip(old, new, strict=True):
        for key in set(o) - {"seconds", "gen_items"}:
            assert n[key] == o[key], key
        assert "gen_items" not in n and n["n"] == 4 and n["gen_n"] == 2
        for key in ("nll", "kl", "top1", "exact_match"):
            lo, hi = n[f"{key}_ci"]
            assert lo <= n[key] <= hi and n[f"{key}_se"] is not None, key
    text = json.dumps(new, allow_nan=False)  # strict JSON
    full, griffin, rand = json.loads(text)
    assert "paired" not in griffin and full["paired"]["vs"]["source"] == "griffin"
    p = rand["paired"]
    assert p["nll"]["diff"] == pytest.approx(rand["nll"] - griffin["nll"], abs=1e-9)
    assert p["nll"]["lo"] <= p["nll"]["diff"] <= p["nll"]["hi"]
    assert p["exact_match"]["diff"] == pytest.approx(rand["exact_match"] - griffin["exact_match"])


def test_the_cli_table_shows_the_half_widths_no_wider(cli_world, tmp_path):
    from rich.console import Console

    model, corpus = cli_world
    out = tmp_path / "r.json"
    run = CliRunner().invoke(app, ["eval", "--model", model, "--data", str(corpus), "--limit",
                                   "3", "--gen-limit", "0", "--domains", "math", "--keep", "0.5",
                                   "--mask-sources", "griffin,random", "--modes", "input",
                                   "-o", str(out)])  # fmt: skip
    assert run.exit_code == 0, run.output
    assert "±" in run.output
    report = json.loads(out.read_text())
    rows = report["results"]
    assert all(isinstance(r["kl_ci"], list) for r in rows) and "paired" in rows[1]
    assert " ±" in plots.markdown(report) and "\n±" not in plots.markdown(report)

    def width(rep):
        con = Console(width=160, record=True, file=open("/dev/null", "w"))  # noqa: SIM115
        con.print(plots.table(rep))
        return max(map(len, con.export_text().splitlines()))

    bare = {"results": [{k: v for k, v in r.items() if not k.endswith("_ci")} for r in rows]}
    assert "±" not in plots.markdown(bare)  # a report from before: as it was
    assert width(report) == width(bare)


def test_plot_quality_draws_error_bars_when_the_report_has_them(tmp_path, monkeypatch):
    pytest.importorskip("matplotlib")
    from matplotlib.axes import Axes

    calls = []
    monkeypatch.setattr(Axes, "errorbar", lambda self, x, y, **kw: calls.append((x, kw["yerr"])))
    rows = [{"domain": "math", "source": s, "mode": "input", "active_fraction": f, "kl": kl,
             "kl_ci": [kl - 0.1, kl + 0.2]} for s, f, kl in
            (("full", 1.0, 0.0), ("griffin", 0.7, 1.0), ("griffin", 0.6, 2.0))]  # fmt: skip
    rows[0]["kl_ci"] = [0.0, 0.0]
    plot_quality({"results": rows}, tmp_path / "q.png", "kl")
    drawn = sorted(x for xs, _ in calls for x in xs)
    assert drawn == [0.6, 0.7, 1.0]
    yerr = next(e for xs, e in calls if 0.7 in xs)
    assert np.allclose(yerr, [[0.1, 0.1], [0.2, 0.2]])
    calls.clear()
    bare = [{k: v for k, v in r.items() if k != "kl_ci"} for r in rows]
    plot_quality({"results": bare}, tmp_path / "q2.png", "kl")
    assert calls == [] and (tmp_path / "q2.png").is_file()
