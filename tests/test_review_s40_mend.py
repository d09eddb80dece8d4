"""Review of the fortieth session's start-up Ctrl-C handler (``mlx_ifp/__init__.py``).

- ``_starts_cli`` read any ``-m mlx_ifp`` in ``sys.orig_argv`` as ``python -m mlx_ifp``: the
  arguments of ``python -c CODE -m mlx_ifp`` or ``python script.py -m mlx_ifp`` (a program's
  own ``-m``) set the quick exit in a program that never runs ``cli.main``, where it stayed
  for the whole run; so did ``python -m mlx_ifp.evaluation.sandbox``, which is no command.
- A SIGINT the parent ignored (``cmd &`` in a script, ``nohup``-style wrappers) was replaced
  by the quick exit, and ``cli.main`` then put Python's handler in its place: Ctrl-C stopped a
  command that was started not to be stopped by it.
"""

import signal
import subprocess
import sys

import mlx_ifp

import pytest
from test_review_s40_interrupt import around_main, sigint_default

PY = "/usr/bin/python3"


@pytest.mark.parametrize(
    ("argv", "orig", "starts"),
    [
        (["/venv/bin/mlx_ifp", "serve"], [PY, "/venv/bin/mlx_ifp", "serve"], True),
        (["-m", "info"], [PY, "-m", "mlx_ifp", "info"], True),
        (["-m"], [PY, "-X", "dev", "-m", "mlx_ifp"], True),
        (["-m", "info"], [PY, "-mmlx_ifp", "info"], True),
        (["-m", "-m", "x"], [PY, "-m", "mlx_ifp", "-m", "x"], True),
        (["-m", "--x"], [PY, "-m", "mlx_ifp.bench", "--x"], True),
        (["-c", "-m", "mlx_ifp"], [PY, "-c", "import mlx_ifp", "-m", "mlx_ifp"], False),
        (["s.py", "-m", "mlx_ifp"], [PY, "s.py", "-m", "mlx_ifp"], False),
        (["-m"], [PY, "-m", "mlx_ifp.evaluation.sandbox"], False),  # not a command
        (["-m"], [PY, "-m", "mypkg"], False),  # a package that imports mlx_ifp
        (["/home/me/mlx_ifp.py"], [PY, "/home/me/mlx_ifp.py"], False),
    ],
)
def test_starts_cli(monkeypatch, argv, orig, starts):
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setattr(sys, "orig_argv", orig)
    assert mlx_ifp._starts_cli() is starts


def _handler_after_import(args: list[str], **kw) -> str:
    code = "import signal, mlx_ifp; print(signal.getsignal(signal.SIGINT))"
    kw.setdefault("preexec_fn", sigint_default)  # as a terminal starts it, whatever ours has
    r = subprocess.run(
        [sys.executable, "-c", code, *args], capture_output=True, text=True, timeout=120, **kw
    )
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


def test_a_programs_own_dash_m_does_not_set_the_quick_exit():
    assert _handler_after_import(["-m", "mlx_ifp"]) == str(signal.default_int_handler)


def test_an_ignored_ctrl_c_stays_ignored():
    ignored = "h is signal.SIG_IGN"
    r = around_main(ignored, ignored, lambda: signal.signal(signal.SIGINT, signal.SIG_IGN))
    assert "start True" in r.stdout and "command True" in r.stdout, r.stdout + r.stderr


def test_split_keeps_the_first_record_of_each_key():
    """``split``'s one-line dedup (reversed, so the first assignment is the last) keeps what the
    ``setdefault`` loop it replaced kept: the first record of each prompt."""
    from mlx_ifp.data import corpus as data

    recs = [
        {"prompt": p, "completion": f"c{i}", "domain": "math"}
        for i, p in enumerate(["Q one", "q  ONE", "q two", "Q one ", "Q TWO", "q three"])
    ]
    parts = data.split(recs, 0.0, 0.0, 0, "x")
    assert sorted(r["completion"] for r in parts["train"]) == ["c0", "c2", "c5"]
