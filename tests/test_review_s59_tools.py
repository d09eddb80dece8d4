"""tools/pruned_answers.py (fifty-ninth session): the pruned model's own replies for on-policy
distillation; the row choice and bad input (one line, exit code 2; nothing written): a missing
``--run`` folder was a traceback after an empty ``partial.jsonl`` was written."""

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tools"))

from pruned_answers import interleaved  # noqa: E402


def test_interleaved_takes_the_first_n_of_each_group_in_turn():
    rows = [{"group": g, "i": i} for i, g in enumerate("aabacbbc")]
    assert [r["i"] for r in interleaved(rows, 2)] == [0, 2, 4, 1, 5, 7]
    assert [r["i"] for r in interleaved(rows)] == [0, 2, 4, 1, 5, 7, 3, 6]
    assert interleaved(rows, 0) == [] and interleaved([]) == []


def run(*args):
    cmd = [sys.executable, str(ROOT / "tools" / "pruned_answers.py"), *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=ROOT)


def test_bad_input_is_one_line_and_exit_2(tmp_path):
    missing = run("--prompts", tmp_path / "none.jsonl", "-o", tmp_path / "out")
    empty = tmp_path / "p.jsonl"
    empty.write_text('{"prompt": "hi", "group": "math", "split": "valid"}\n')
    none_left = run("--prompts", empty, "--split", "train", "-o", tmp_path / "out")
    no_run = run("--prompts", empty, "--run", tmp_path / "no_run", "-o", tmp_path / "out")
    cases = ((missing, "no prompts file"), (none_left, "no rows of"), (no_run, "no run folder"))
    for r, said in cases:
        assert r.returncode == 2, r.stderr
        assert said in r.stderr.splitlines()[-1] and "Traceback" not in r.stderr
    assert not (tmp_path / "out").exists()
