"""``mlx_ifp bench`` runs every variant on a tiny random preset and reports every field."""

import json

from mlx_ifp.bench import bench
from mlx_ifp.bench import models as bench_report  # (report.py until s58)
from mlx_ifp.cli.info import bench_command

import pytest
import typer
from typer.testing import CliRunner

VARIANT_KEYS = set(
    "b_masked c_slim d_cached e_mlx_lm e_mlx_ifp f_same_shape g_q4_slim h_prefill".split()
)
RATIOS = set(
    "ideal_speedup slim_vs_same_shape slim_vs_same_shape_interleaved speedup_vs_source "
    "speedup_of_ideal speedup_interleaved speedup_of_ideal_interleaved select_slice_of_prefill "
    "prefill_select_slice_overhead cache_hit_ms mlx_ifp_vs_mlx_lm resident_vs_allowed".split()
)


@pytest.fixture(scope="module")
def result():
    return bench(preset="tiny", keeps=(0.5, 32), prompt_tokens=16, gen_tokens=4, trials=1,
                 log=lambda s: None)  # fmt: skip


def test_every_variant_and_ratio(result):
    json.dumps(result)  # JSON-able
    assert result["model"] == "random:tiny" and result["d_ffn"] == 128
    assert result["dense"]["decode_tps"] > 0 and result["q4_dense"]["decode_tps"] > 0
    assert [r["k"] for r in result["runs"]] == [64, 32]
    for run in result["runs"]:
        assert set(run["variants"]) == VARIANT_KEYS
        il = run["interleaved"]  # source, slim and same-shape in alternating trials
        assert set(il) == {"a", "c", "f"}
        assert all(len(x["all"]) >= 3 and x["decode_tps"] > 0 for x in il.values())
        h = run["variants"]["h_prefill"]
        assert h["dense_prefill_s"] > 0 and h["slice_s"] > 0 and h["select_s"] > 0
        assert set(run["ratios"]) == RATIOS
        c = run["variants"]["c_slim"]
        assert c["select_s"] > 0 and c["slice_s"] > 0 and c["prefill_s"] > 0
        assert run["slim"]["d_ffn"] == run["k"] and run["ideal_ratio"] > 1
        assert run["variants"]["d_cached"]["hit_s"] < c["select_s"] + c["slice_s"]


def test_one_budget_given_twice_is_measured_once():
    """0.5 and 64 of 128 channels are one budget: it was measured twice."""
    said = []
    out = bench(preset="tiny", keeps=(0.5, 64), prompt_tokens=8, gen_tokens=2, trials=1,
                variants="c", log=said.append)  # fmt: skip
    assert [r["k"] for r in out["runs"]] == [64] and out["runs"][0]["keep"] == 0.5
    assert any("measured once" in s for s in said)


def test_report_and_plot(result, tmp_path):
    md = bench_report.markdown(result)
    assert "(c) slim, materialised" in md and "cache hit (ms)" in md
    png = bench_report.plot(result, tmp_path / "p.png")
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_command_writes_json(tmp_path):
    app = typer.Typer()
    app.command()(bench_command)
    out = tmp_path / "b.json"
    run = CliRunner().invoke(app, ["--preset", "tiny", "--keep", "0.25", "--variants", "acf",
                                   "--prompt-tokens", "8", "--gen-tokens", "3", "--trials", "1",
                                   "-o", str(out), "--plot", str(tmp_path / "p.png")])  # fmt: skip
    assert run.exit_code == 0, run.output
    data = json.loads(out.read_text())
    assert set(data["runs"][0]["variants"]) == {"c_slim", "f_same_shape"}
    assert (tmp_path / "p.png").exists()
