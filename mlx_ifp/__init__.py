"""mlx_ifp: instruction-following pruning for MLX.

A mask source picks each layer's FFN channels for a prompt or a task; the kept rows and
columns become a slim dense model that mlx-lm generates with unchanged. The stages of the
flow are subpackages: ``models`` (name -> model), ``sources`` (text -> channel scores),
``core`` (FFN access, masks, budgets), ``inference`` (mask -> slim model -> text), ``convert``,
``train``, ``data``, ``evaluation``, ``bench`` and ``cli`` (the only one that imports typer).
"""

from .models import check_model, load  # first: loads the optimized BLAS before mlx.core

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
