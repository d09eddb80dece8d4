"""Shared fixtures. ``mlx_ifp`` is imported first: it loads OpenBLAS before ``mlx.core``."""

import mlx_ifp  # noqa: F401  (must precede any import of mlx.core)

import pytest


@pytest.fixture(scope="session")
def smollm2_dir():
    """The embedded SmolLM2-135M-Instruct as a float32 mlx-lm folder (fetched once, cached)."""
    from mlx_ifp.embedded import embedded_folder

    return embedded_folder("smollm2-135m-instruct", dequantize=True)
