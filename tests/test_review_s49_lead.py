"""Forty-ninth session, found by the lead: ``tools/eval_task_masks.py --reroute 0`` (meant as "no
re-picking", as ``generate --repick 0`` reads it) ran the whole load and scoring, then died with
a ZeroDivisionError traceback in its re-pick loop. Now it is refused in one line,
before any load."""

import subprocess
import sys
from pathlib import Path

TOOL = Path(__file__).resolve().parents[1] / "tools" / "eval_task_masks.py"


def test_reroute_zero_or_junk_is_one_line_before_the_load(tmp_path):
    for bad in ("0", "16,0", "-4", "x"):
        run = subprocess.run(
            [sys.executable, str(TOOL), "--run", str(tmp_path), "--reroute", bad],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert run.returncode == 2, (bad, run.stderr)
        assert "--reroute takes whole numbers >= 1" in run.stderr, (bad, run.stderr)
        assert "Traceback" not in run.stderr
