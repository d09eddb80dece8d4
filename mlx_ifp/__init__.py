"""mlx_ifp: instruction-following pruning for MLX.

A mask source picks each layer's FFN channels for a prompt or a task; the kept rows and
columns become a slim dense model that mlx-lm generates with unchanged. The stages of the
flow are subpackages: ``models`` (name -> model), ``sources`` (text -> channel scores),
``core`` (FFN access, masks, budgets), ``inference`` (mask -> slim model -> text), ``convert``,
``train``, ``data``, ``evaluation``, ``bench``, ``serve`` (the OpenAI-compatible server; not
imported here) and ``cli`` (the only one that imports typer).
"""

import os as _os
import signal as _signal
import sys as _sys


def _quit_starting(signum, frame) -> None:
    """Ctrl-C while the command line starts (the imports, about a second): one line, exit code
    130, as a command's own Ctrl-C; nothing is written yet, so there is nothing to clean up."""
    _os.write(2, b"Error: interrupted\n")
    _os._exit(130)


def _starts_cli() -> bool:
    """Whether this import starts the command line: the console script, or ``python -m`` of a
    module that runs ``cli.main`` (while Python finds that module, ``sys.argv`` is ``["-m",
    *its arguments]``: the module's name precedes them in ``sys.orig_argv``)."""
    argv, orig = _sys.argv, getattr(_sys, "orig_argv", [])
    if argv and _os.path.basename(argv[0]) in ("mlx_ifp", "mlx_ifp.exe"):
        return True
    if argv[:1] != ["-m"] or len(orig) <= len(argv):  # python -c, a script, an app
        return False
    module = orig[-len(argv)]  # "mlx_ifp", or "-mmlx_ifp" written as one argument
    return module.removeprefix("-m").removesuffix(".__main__") in ("mlx_ifp", "mlx_ifp.bench")


# Python's own handler only: a Ctrl-C the parent ignored (``cmd &`` in a script) stays ignored
if _starts_cli() and _signal.getsignal(_signal.SIGINT) is _signal.default_int_handler:
    try:  # cli.main puts Python's own handler back before a command runs
        _signal.signal(_signal.SIGINT, _quit_starting)
    except ValueError:  # not the main thread
        pass

from .models import check_model, load  # noqa: E402  first: the optimized BLAS before mlx.core

__version__ = "0.1.0"

from . import compat  # noqa: E402
from .convert import export, export_gguf  # noqa: E402
from .core import Budget, Mask, UsageError  # noqa: E402
from .inference import Pruner, generate, prune, select, stream_generate  # noqa: E402
from .sources import MaskSource, make_source, register_source  # noqa: E402

compat.install()

__all__ = [
    "Budget",
    "Mask",
    "MaskSource",
    "Pruner",
    "UsageError",
    "check_model",
    "export",
    "export_gguf",
    "generate",
    "load",
    "make_source",
    "prune",
    "register_source",
    "select",
    "stream_generate",
]


def __getattr__(name: str):
    """Old flat module paths (``mlx_ifp.ffn``, ...) resolve with a DeprecationWarning."""
    if name in compat.MOVED:
        return compat.moved(name)
    raise AttributeError(f"module 'mlx_ifp' has no attribute {name!r}")
