"""Review s58 (evalfair): HumanEval pass@1 must not count a program that ends early.

Before this session the sandbox counted any exit status 0 as a pass; only a ``SystemExit``
raised through the program was caught. A completion that ended the process with status 0
without raising (``os._exit(0)`` in the function, an ``atexit`` hook or ``sys.excepthook``
calling ``os._exit(0)`` after a failed assert, a thread calling ``os._exit(0)``) passed with
wrong code. Now the child writes a random token only once the program has run to its end.
"""

from __future__ import annotations

from mlx_ifp.evaluation.sandbox import exact_match, program, run_program

import pytest

PROMPT = 'def add(a, b):\n    """Add two numbers."""\n'
TEST = "def check(candidate):\n    assert candidate(1, 2) == 3\n    assert candidate(2, 2) == 4\n"


def run(reply: str):
    return run_program(program(PROMPT, reply, TEST, "add"), timeout=5)


@pytest.mark.parametrize(
    "reply",
    [
        "    import os; os._exit(0)\n",
        "    return a - b\nimport atexit, os\natexit.register(lambda: os._exit(0))\n",
        "    return a - b\nimport sys, os\nsys.excepthook = lambda *a: os._exit(0)\n",
        "    import threading, os, time\n"
        "    threading.Thread(target=lambda: os._exit(0)).start()\n    time.sleep(2)\n",
        "    raise SystemExit(0)\n",
        "    return a - b\nimport sys\nsys.exit(0)\n",
    ],
    ids=["os._exit", "atexit", "excepthook", "thread", "SystemExit-in-check", "exit-before-tests"],
)
def test_an_early_exit_0_is_no_pass(reply):
    result = run(reply)
    assert not result.passed and result.status == "failed", result


@pytest.mark.parametrize(
    "reply",
    [
        "    return a + b\n",
        "def add(a, b):\n    return a + b\n",
        "```python\ndef add(a, b):\n    return a + b\n```\nThis adds them.",
        "    print('x' * 1_000_000)\n    import sys; print('y' * 200_000, file=sys.stderr)\n"
        "    return a + b\n",
    ],
    ids=["body", "signature-repeated", "fenced", "prints-a-lot"],
)
def test_right_code_still_passes(reply):
    assert run(reply).passed


def test_a_program_that_loops_forever_times_out():
    result = run_program(program(PROMPT, "    while True: pass\n", TEST, "add"), timeout=1)
    assert (result.passed, result.status) == (False, "timeout")


@pytest.mark.parametrize(
    ("reply", "answer", "right"),
    [
        ("So she pays $1,000.", "1000", True),
        ("The answer is 18.00", "18", True),
        ("He ends at -5 degrees.", "-5", True),
        ("10 + 8 = 18. The answer is 18.", "18", True),
        ("The answer is 5 + 3 = 8.", "8", True),
        ("$\\boxed{72}$", "72", True),
        ("#### 72", "72", True),
        ("It grows by 50%.", "50", True),
        ("The answer is 17.", "18", False),
        ("The answer is 18.5", "18", False),
    ],
)
def test_gsm8k_final_number(reply, answer, right):
    assert exact_match(reply, answer) is right
