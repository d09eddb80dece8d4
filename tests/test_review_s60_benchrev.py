"""``mlx_ifp bench`` reviewed as a benchmarker reads it (sixtieth session, found by review), each
case failed before its fix:

- the table's (h) row gave a **TTFT** (and the ratio table nothing to say otherwise) that lacks
  the first token's forward step, which every other row's prefill and TTFT hold (mlx-lm's
  prompt time): at ``-p 16`` on SmolLM2 (h) read 125 ms against the dense source's 215 ms, as
  if a per-prompt mask made the first token come sooner;
- (g)'s slicing from the 4-bit source was timed **with no warm-up** (its first, cold call
  counted: all of it at ``-r 1``) and without the allocator cleared before each trial, where
  (c)'s slicing, beside it in the table, had both;
- ``bench --help`` said nothing of the untimed warm-up before each variant's trials, nor that
  ``-o`` is rewritten after each keep ratio with ``"complete": false`` until the run ends (what
  a Ctrl-C leaves, replacing an earlier report there).
"""

from __future__ import annotations

import time

from mlx_ifp.bench import bench
from mlx_ifp.bench import models as report
from mlx_ifp.cli import app
from mlx_ifp.inference import Pruner

import mlx.core as mx
from typer.testing import CliRunner


def _result() -> dict:
    """A two-row result: the dense source and (h), as ``bench --variants ah`` records them."""
    dense = {"prefill_s": 0.2, "decode_tps": 14.0, "decode_tps_std": None, "peak_gb": 0.5}
    h = {"dense_prefill_s": 0.08, "prefill_select_slice_s": 0.12, "select_s": 0.002,
         "slice_s": 0.035, "overhead": 0.5}  # fmt: skip
    run = {"keep": 0.5, "k": 768, "variants": {"h_prefill": h}, "ratios": {}}
    return {"d_ffn": 1536, "dense": dense, "runs": [run]}


def test_h_row_gives_no_ttft_that_lacks_the_first_token():
    rows = {r[2]: r for r in report.rows(_result())}
    h = rows[report.NAMES["h_prefill"]]
    assert h[6] == "-", h  # TTFT: was 120.0, under the source's 200.0
    assert rows["(a) dense source"][6] == "200.0"  # mlx-lm's prompt time, the first token in
    assert h[3] == "2.00" and h[4] == "35.0"  # selection and slicing still shown
    said = report.markdown(_result())
    assert report.H_NOTE in said and "first token" in report.H_NOTE


def test_h_note_only_where_h_ran():
    result = _result()
    result["runs"][0]["variants"] = {}
    assert report.H_NOTE not in report.markdown(result)


def test_g_slicing_is_warmed_up_and_cleared_like_c(monkeypatch):
    """A first call per 4-bit pruner that takes 0.5 s more (what compiling, allocating cost):
    (g)'s slice time held it at ``-r 1``."""
    events, seen = [], set()
    original, clear = Pruner.slim_from_mask, mx.clear_cache

    def cut(self, mask):
        if self.model.model.layers[0].mlp.gate_proj.weight.dtype == mx.uint32:  # (g)'s
            events.append("cut")
            if id(self) not in seen:
                seen.add(id(self))
                time.sleep(0.5)
        return original(self, mask)

    def cleared():
        events.append("clear")
        clear()

    monkeypatch.setattr(Pruner, "slim_from_mask", cut)
    monkeypatch.setattr(mx, "clear_cache", cleared)
    out = bench(preset="tiny", keeps=(0.5,), prompt_tokens=8, gen_tokens=2, trials=2,
                variants="g", log=lambda s: None)  # fmt: skip
    g = out["runs"][0]["variants"]["g_q4_slim"]
    assert g["slice_s"] < 0.2, g  # was the median of (0.5 s + x, x): the cold call counted
    cuts = [i for i, e in enumerate(events) if e == "cut"]
    assert len(cuts) == 3  # a warm-up and 2 trials
    assert all(events[i - 1] == "clear" for i in cuts[1:]), events  # each trial: cleared first


def test_help_says_warm_up_and_partial_output():
    run = CliRunner().invoke(app, ["bench", "--help"], env={"COLUMNS": "400"})
    assert run.exit_code == 0, run.output
    text = " ".join(run.output.split())
    trials = text[text.index("--trials") : text.index("--align")]
    assert "warm-up" in trials and "at least 3" in trials, trials
    output = text[text.index("--output") : text.index("--plot")]
    assert '"complete": false' in output and "keep ratio" in output, output
