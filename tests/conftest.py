"""Shared fixtures. ``mlx_ifp`` is imported first: it loads OpenBLAS before ``mlx.core``."""

import os

# One BLAS thread in tests: on a busy 2-core machine OpenBLAS's spinning worker threads slowed
# real-model tests 3-7x (seen here). Read when OpenBLAS loads, so before `import mlx_ifp`.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import mlx_ifp  # noqa: E402, F401  (must precede any import of mlx.core)

import pytest


@pytest.fixture(scope="session")
def smollm2_dir():
    """The embedded SmolLM2-135M-Instruct as a float32 mlx-lm folder (fetched once, cached)."""
    from mlx_ifp.models.embedded import embedded_folder

    return embedded_folder("smollm2-135m-instruct", dequantize=True)
