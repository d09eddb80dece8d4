"""mlx_ifp: instruction-following pruning for MLX.

A sparsity source picks each layer's FFN channels for a prompt or a task; the kept rows and
columns become a slim dense model that mlx-lm generates with unchanged.
"""

from . import blas as _blas

_blas.load_optimized_blas()  # must precede the first `import mlx.core`

__version__ = "0.1.0"

from .export import export  # noqa: E402
from .generate import generate, select, stream_generate  # noqa: E402
from .load import load  # noqa: E402
from .mask import Mask  # noqa: E402
from .prune import Pruner, prune  # noqa: E402
from .sources import MaskSource, make_source, register_source  # noqa: E402

__all__ = [
    "Mask",
    "MaskSource",
    "Pruner",
    "export",
    "generate",
    "load",
    "make_source",
    "prune",
    "register_source",
    "select",
    "stream_generate",
]
