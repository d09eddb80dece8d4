"""tools/eval_ifp.py's tables: a report of domains without math or code (a writing probe in the
prose slot) renders, with "-" in the generation columns."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tools"))


def test_a_report_without_math_or_code_renders():
    from eval_ifp import render

    dom = {"kl": 0.88, "nll": 1.797, "top1": 0.7}
    rows = [{"row": "IFP", "keep": 0.5, "active_params": 94.7e6, "kl": 0.88, "nll": 1.797,
             "domains": {"prose": dom}}]  # fmt: skip
    kl, nll = render(rows).split("\n\n")
    assert "| IFP | 0.5 | 94.7M | 0.880 | 0.880 |" in kl
    assert nll.splitlines()[-1].endswith("| 1.797 | 1.797 | 0.700 | - | - |")


def test_the_tool_still_answers_help():
    out = subprocess.run([sys.executable, "tools/eval_ifp.py", "--help"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)  # fmt: skip
    assert out.returncode == 0 and "--runs" in out.stdout
