"""Scoring generated answers: GSM8K's final number, and HumanEval programs run in a sandbox.

Generated code never runs in our process: each program runs in a fresh ``python -I`` child in
a temporary folder, with CPU, memory, file-size and process limits and a wall-clock timeout;
a program that hangs is killed with its whole process group and counts as a failure.
"""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass

_NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?")


def final_number(text: str) -> str | None:
    """The answer a GSM8K reply gives: after ``####`` or "answer is" if present, else the last
    number; commas and trailing ``.0`` dropped."""
    for marker in ("####", "answer is", "Answer:"):
        if marker in text:
            found = _NUMBER.findall(text.rsplit(marker, 1)[1])
            if found:
                return _norm(found[0])
    found = _NUMBER.findall(text)
    return _norm(found[-1]) if found else None


def _norm(number: str) -> str:
    s = number.replace(",", "").rstrip(".")
    if "." in s:
        s = s.rstrip("0").rstrip(".")
    return s


def exact_match(reply: str, answer: str) -> bool:
    """Whether the reply's final number equals the reference answer."""
    got = final_number(reply)
    return got is not None and got == _norm(answer)


def extract_code(reply: str) -> str:
    """The first fenced code block of a reply (the whole reply when there is none)."""
    m = re.search(r"```(?:python|py)?\s*\n(.*?)(?:```|$)", reply, re.S)
    return m.group(1) if m else reply


def program(code_prompt: str, reply: str, test: str, entry_point: str) -> str:
    """The HumanEval program: the completed function, its tests and ``check(entry_point)``."""
    code = extract_code(reply)
    if re.search(rf"^\s*def\s+{re.escape(entry_point)}\s*\(", code, re.M):
        imports = [ln for ln in code_prompt.splitlines() if ln.startswith(("import ", "from "))]
        body = "\n".join(imports) + "\n\n" + code
    else:  # a bare function body continues the prompt
        body = code_prompt + code
    return f"{body}\n\n{test}\n\ncheck({entry_point})\n"


@dataclass
class RunResult:
    """The outcome of one sandboxed program."""

    passed: bool
    status: str  # "passed", "failed", "timeout" or "error"
    detail: str = ""


def _limits(cpu_s: int, memory_mb: int):
    def apply():
        import resource

        os.setsid()
        wanted = [
            (resource.RLIMIT_CPU, cpu_s),
            (resource.RLIMIT_AS, memory_mb << 20),
            (resource.RLIMIT_FSIZE, 1 << 20),
            (getattr(resource, "RLIMIT_NPROC", None), 64),
            (resource.RLIMIT_CORE, 0),
        ]
        for which, value in wanted:
            if which is None:
                continue
            try:
                resource.setrlimit(which, (value, value))
            except (ValueError, OSError):  # not every limit exists or may be lowered everywhere
                pass

    return apply


def run_program(source: str, timeout: float = 5.0, memory_mb: int = 1024) -> RunResult:
    """Run ``source`` in a sandboxed child Python; passed when it exits 0 within ``timeout``."""
    with tempfile.TemporaryDirectory(prefix="mlx_ifp_exec_") as tmp:
        path = os.path.join(tmp, "candidate.py")
        with open(path, "w", encoding="utf-8") as f:
            f.write(source)
        env = {"PATH": os.environ.get("PATH", ""), "PYTHONHASHSEED": "0", "HOME": tmp}
        proc = subprocess.Popen(
            [sys.executable, "-I", "-S", path],
            cwd=tmp,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            preexec_fn=_limits(int(timeout) + 1, memory_mb),
        )
        try:
            _, err = proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            _kill(proc)
            return RunResult(False, "timeout", f"killed after {timeout:g} s")
        tail = err.decode(errors="replace").strip().splitlines()[-1:] if err else []
        if proc.returncode == 0:
            return RunResult(True, "passed")
        if proc.returncode < 0:
            return RunResult(False, "error", f"killed by signal {-proc.returncode}")
        return RunResult(False, "failed", tail[0] if tail else f"exit {proc.returncode}")


def _kill(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the child and anything it spawned
    except (ProcessLookupError, PermissionError):
        proc.kill()
    proc.communicate()


def check_humaneval(record: dict, reply: str, timeout: float = 5.0) -> RunResult:
    """Run a reply against a HumanEval record's tests (see ``corpora.read_humaneval``)."""
    p = record["provenance"]
    return run_program(program(p["code_prompt"], reply, p["test"], p["entry_point"]), timeout)


def score_replies(domain: str, items, replies, timeout: float) -> dict:
    """GSM8K exact match or HumanEval pass@1 (with how many programs timed out)."""
    if domain == "math":
        ok = [
            exact_match(r, it["provenance"]["answer"]) for it, r in zip(items, replies, strict=True)
        ]
        return {"exact_match": sum(ok) / max(len(ok), 1), "gen_n": len(ok)}
    runs = [check_humaneval(it, r, timeout) for it, r in zip(items, replies, strict=True)]
    return {
        "pass@1": sum(r.passed for r in runs) / max(len(runs), 1),
        "gen_n": len(runs),
        "timeouts": sum(r.status == "timeout" for r in runs),
    }
