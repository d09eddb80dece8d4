"""tools/paired_ci.py: paired bootstrap intervals of two eval_ifp rows' per-item differences."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def report(tmp_path, shift_a: float, n: int = 12) -> Path:
    def row(name, shift):
        items = [{"tokens": 10 + i, "nll": (2.0 + shift + 0.1 * (i % 3)) * (10 + i),
                  "kl": (0.5 + shift) * (10 + i)} for i in range(n)]  # fmt: skip
        return {"row": name, "domains": {"math": {"items": items}, "code": {"items": items}}}

    path = tmp_path / "r.json"
    path.write_text(json.dumps({"rows": [row("A", shift_a), row("B", 0.0)]}))
    return path


def run(*args):
    cmd = [sys.executable, "tools/paired_ci.py", *map(str, args), "--resamples", "500"]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60)


def test_a_constant_shift_gives_that_difference_and_a_tight_interval(tmp_path):
    out = tmp_path / "ci.json"
    res = run(report(tmp_path, 0.25), "A", "B", "-o", out)
    assert res.returncode == 0, res.stderr
    ci = json.loads(out.read_text())["domains"]
    for d in ("math", "code", "all (token-weighted)"):
        for key in ("kl", "nll"):
            v = ci[d][key]
            assert abs(v["diff"] - 0.25) < 1e-9 and v["lo"] <= v["diff"] <= v["hi"]
            assert v["p_not_below"] == 1.0
    assert "| math | +0.2500 |" in res.stdout


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    path = report(tmp_path, 0.0)
    for args in ((tmp_path / "missing.json", "A", "B"), (path, "A", "nope")):
        res = run(*args)
        assert res.returncode == 2 and res.stderr.count("\n") == 1, res.stderr
    bare = tmp_path / "bare.json"
    bare.write_text(json.dumps({"rows": [{"row": "A", "domains": {"math": {}}},
                                         {"row": "B", "domains": {"math": {}}}]}))  # fmt: skip
    res = run(bare, "A", "B")
    assert res.returncode == 2 and "per-item" in res.stderr


def prefill_report(path: Path, shift: dict, n: int = 6) -> Path:
    """An eval_prefill_modes-shaped report: rows per (domain, prefill), items in domain order."""
    modes = ("slim", "dense-lora")
    items = [{m: {"tokens": 10, "nll": (2.0 + shift[d] + 0.1 * i) * 10,
                  "kl": (0.5 + shift[d] + 0.2 * (m == "slim")) * 10} for m in modes}
             for d in ("math", "code") for i in range(n)]  # fmt: skip
    rows = [{"domain": d, "prefill": m, "n": n} for d in ("math", "code", "all") for m in modes]
    path.write_text(json.dumps({"rows": rows, "items": items}))
    return path


def test_prefill_mode_rows_and_a_row_from_another_report(tmp_path):
    a = prefill_report(tmp_path / "a.json", {"math": 0.0, "code": 0.0})
    b = prefill_report(tmp_path / "b.json", {"math": 0.1, "code": 0.3})
    out = tmp_path / "ci.json"
    res = run(a, "slim", "dense-lora", "-o", out)  # within one report: the modes' KL gap
    assert res.returncode == 0, res.stderr
    ci = json.loads(out.read_text())["domains"]
    assert abs(ci["math"]["kl"]["diff"] - 0.2) < 1e-9 and abs(ci["code"]["nll"]["diff"]) < 1e-9
    res = run(a, "dense-lora", "dense-lora", "--b-report", b, "-o", out)  # across two runs
    assert res.returncode == 0, res.stderr
    ci = json.loads(out.read_text())["domains"]
    for d, want in (("math", -0.1), ("code", -0.3), ("all (token-weighted)", -0.2)):
        assert abs(ci[d]["kl"]["diff"] - want) < 1e-9 and abs(ci[d]["nll"]["diff"] - want) < 1e-9
    assert run(a, "slim", "slim", "--b-report", tmp_path / "none.json").returncode == 2
