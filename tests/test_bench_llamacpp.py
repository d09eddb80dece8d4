"""tools/bench_llamacpp.py without llama.cpp (CI has none): a missing llama-bench is one line
and exit 2, before any model is loaded."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parent.parent / "tools" / "bench_llamacpp.py"


@pytest.mark.parametrize("how", ["flag", "env", "path"])
def test_missing_llama_bench_is_one_line_and_exit_2(tmp_path, how):
    env = {k: v for k, v in os.environ.items() if k != "LLAMA_BENCH"}
    env["PATH"] = str(tmp_path)  # no llama-bench on PATH
    args = []
    if how == "flag":
        args = ["--llama-bench", str(tmp_path / "nope" / "llama-bench")]
    elif how == "env":
        env["LLAMA_BENCH"] = str(tmp_path / "llama-bench")
    run = subprocess.run(
        [sys.executable, str(TOOL), *args], capture_output=True, text=True, env=env, timeout=60
    )
    assert run.returncode == 2
    assert run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error: llama-bench not found")
    assert "--target llama-bench" in lines[0] and "--llama-bench PATH" in lines[0]


def test_a_non_executable_file_is_not_taken_for_llama_bench(tmp_path):
    fake = tmp_path / "llama-bench"
    fake.write_text("not a program")
    run = subprocess.run(
        [sys.executable, str(TOOL), "--llama-bench", str(fake)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 2 and run.stderr.startswith("Error: llama-bench not found")
