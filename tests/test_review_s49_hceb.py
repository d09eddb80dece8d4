"""``mlx_ifp bench`` as a llama.cpp ``llama-bench`` user drives it (forty-ninth session, found
by review): llama-bench's ``-p``/``-n``/``-r`` and its ``-o json`` (a format, the JSON on
stdout: ``llama-bench -o json > run.json``); repetitions reported with their spread."""

import json
import os

from mlx_ifp.bench import bench
from mlx_ifp.bench import models as bench_report  # (report.py until s58)
from mlx_ifp.cli import app

import pytest
from typer.testing import CliRunner

SMALL = ["--preset", "tiny", "--keep", "0.5", "--variants", "ac", "--gen-tokens", "3"]


@pytest.mark.parametrize("fmt", ["json", "md", "CSV", "jsonl", "sql"])
def test_llama_bench_output_format_is_refused_before_any_work(tmp_path, monkeypatch, fmt):
    """``-o json`` wrote the JSON to a file named ``json`` in the current folder and the tables
    to stdout, so ``bench -o json > run.json`` left run.json holding tables, not JSON."""
    monkeypatch.chdir(tmp_path)
    run = CliRunner().invoke(app, ["bench", *SMALL, "-o", fmt])
    assert run.exit_code == 2, run.output
    lines = [x for x in run.output.splitlines() if x.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and "llama-bench" in lines[0]
    assert os.listdir(tmp_path) == []  # nothing written


def test_an_output_file_with_a_suffix_is_still_written(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    run = CliRunner().invoke(app, ["bench", *SMALL, "--prompt-tokens", "8", "--trials", "1",
                                   "-o", "json.json"])  # fmt: skip
    assert run.exit_code == 0, run.output
    assert json.loads((tmp_path / "json.json").read_text())["complete"] is True


def test_llama_bench_short_flags_set_prompt_gen_and_repetitions(tmp_path):
    """``-p 8 -n 3 -r 2`` (llama-bench's prompt size, generated tokens, repetitions) was
    ``No such option: -p``."""
    out = tmp_path / "b.json"
    run = CliRunner().invoke(app, ["bench", "--preset", "tiny", "--variants", "c",
                                   "-p", "8", "-n", "3", "-r", "2", "-o", str(out)])  # fmt: skip
    assert run.exit_code == 0, run.output
    data = json.loads(out.read_text())
    assert (data["prompt_tokens"], data["gen_tokens"], data["trials"]) == (8, 3, 2)


@pytest.fixture(scope="module")
def result():
    return bench(preset="tiny", keeps=(0.5,), prompt_tokens=8, gen_tokens=3, trials=3,
                 variants="ac", log=lambda s: None)  # fmt: skip


def test_decode_speed_carries_its_spread_over_the_trials(result):
    """Only the median was reported: the spread of the repetitions (llama-bench's
    ``avg ± stddev``) was nowhere but in the raw list."""
    import statistics

    for v in (result["dense"], result["runs"][0]["variants"]["c_slim"]):
        tps = v["decode_tps_all"]
        assert len(tps) == 3
        assert v["decode_tps_mean"] == pytest.approx(statistics.mean(tps))
        assert v["decode_tps_std"] == pytest.approx(statistics.stdev(tps))


def test_the_table_gives_the_spread_the_json_holds(result):
    md = bench_report.markdown(result)
    slim = result["runs"][0]["variants"]["c_slim"]
    for name, v in (("(a) dense source", result["dense"]), ("(c) slim, materialised", slim)):
        row = next(x for x in md.splitlines() if name in x)
        cell = f"{v['decode_tps']:.1f} ± {v['decode_tps_std']:.1f}"
        assert cell in row, (cell, row)


def test_one_trial_has_no_spread_to_give():
    out = bench(preset="tiny", keeps=(0.5,), prompt_tokens=8, gen_tokens=3, trials=1,
                variants="c", log=lambda s: None)  # fmt: skip
    c = out["runs"][0]["variants"]["c_slim"]
    assert c["decode_tps_std"] is None
    row = next(x for x in bench_report.markdown(out).splitlines() if "(c) slim" in x)
    assert "±" not in row and f"{c['decode_tps']:.1f}" in row


def test_each_domains_cut_prompts_get_their_own_warning_naming_it(cli_world, tmp_path):
    """``eval --domains math,science --max-len 8``: both domains' prompts were cut, but the
    warning (meant one per domain) named none, so Python's filter showed the second domain's,
    word for word the same text, never: one ``Warning: 1 of 1 prompts had 8+ tokens`` line."""
    model, corpus = cli_world
    run = CliRunner().invoke(app, [str(a) for a in (
        "eval", "--model", model, "--data", corpus, "--keep", "0.5", "--mask-sources", "random",
        "--domains", "math,science", "--limit", 1, "--gen-limit", 0, "--max-len", 8,
        "-o", tmp_path / "r.json")])  # fmt: skip
    assert run.exit_code == 0, run.output
    warned = [x for x in run.stderr.splitlines() if x.startswith("Warning: 1 of 1 prompts had 8+")]
    assert len(warned) == 2, run.stderr
    assert "math" in warned[0] and "science" in warned[1], warned
