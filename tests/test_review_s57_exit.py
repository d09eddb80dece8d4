"""Review (fifty-seventh session, found by the fresh-clone run): ``mlx_ifp info`` given Ctrl-C
just as it ended (tests/test_review_s40_interrupt.py, the 0.9 s case, on a busy machine) printed
``Exception ignored in: <module 'threading'> ... KeyboardInterrupt``, a traceback from Python's
shutdown, after the command was done. The console script (``main()`` with no arguments: the
entry point and ``python -m mlx_ifp``) now hands SIGINT back to the system's default once its
command has ended, so a late Ctrl-C ends the process as the signal does (``-SIGINT``, which that
test takes), quietly. In-process callers (``main([...])``, tests) keep their handler."""

import signal
import subprocess
import sys

from mlx_ifp.cli import main

import pytest

PROBE = """
import atexit, signal, sys
from mlx_ifp.cli import main
atexit.register(lambda: print("at exit:", signal.getsignal(signal.SIGINT) is signal.SIG_DFL))
sys.argv = ["mlx_ifp", "--version"]
main()
"""


def test_the_console_script_leaves_ctrl_c_to_the_system_once_its_command_ended():
    run = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True,
                         timeout=120)  # fmt: skip
    assert "at exit: True" in run.stdout, (run.stdout, run.stderr[-500:])


def test_an_in_process_call_keeps_its_handler():
    before = signal.getsignal(signal.SIGINT)
    with pytest.raises(SystemExit):
        main(["--version"])
    assert signal.getsignal(signal.SIGINT) is before
