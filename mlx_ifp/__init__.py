"""mlx_ifp: instruction-following pruning for MLX.

A sparsity source picks each layer's FFN channels for a prompt or a task; the kept rows and
columns become a slim dense model that mlx-lm generates with unchanged.
"""

from . import blas as _blas

_blas.load_optimized_blas()  # must precede the first `import mlx.core`

__version__ = "0.1.0"
