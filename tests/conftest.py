"""Shared fixtures. ``mlx_ifp`` is imported first: it loads OpenBLAS before ``mlx.core``."""

import os
import re

# One BLAS thread in tests: on a busy 2-core machine OpenBLAS's spinning worker threads slowed
# real-model tests 3-7x (seen here). Read when OpenBLAS loads, so before `import mlx_ifp`.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
# On MLX's CUDA backend float32 matmuls run in TF32 unless this is 0 (~3e-4 relative error on
# random 256 x 256 products, seen on an H100); the tests compare float32 paths to ~1e-5.
os.environ.setdefault("MLX_ENABLE_TF32", "0")

import mlx_ifp  # noqa: E402, F401  (must precede any import of mlx.core)

import pytest


@pytest.fixture(scope="session")
def smollm2_dir():
    """The embedded SmolLM2-135M-Instruct as a float32 mlx-lm folder (fetched once, cached)."""
    from mlx_ifp.models.embedded import embedded_folder

    return embedded_folder("smollm2-135m-instruct", dequantize=True)


@pytest.fixture(scope="module")
def cli_world(tmp_path_factory):
    """(a tiny llama folder, the fixture corpus), its fake sources patched in for the module."""
    from corpus import fake_corpus
    from tiny import save_folder, tiny_model

    root = tmp_path_factory.mktemp("world")
    with pytest.MonkeyPatch.context() as mp:
        corpus = fake_corpus(root, mp)
        yield save_folder(tiny_model("llama"), root / "model"), corpus


def pytest_addoption(parser):
    parser.addoption(
        "--big", action="store_true", help="run the tests marked big (a 1.1 GB model download)"
    )


def big_selected(config) -> bool:
    """``--big``, ``MLX_IFP_BIG=1`` or a ``-m`` expression naming big (not ``not big``)."""
    expr = config.getoption("markexpr") or ""
    named = re.search(r"\bbig\b", expr) and not re.search(r"\bnot\s+big\b", expr)
    return bool(config.getoption("--big") or os.environ.get("MLX_IFP_BIG") == "1" or named)


def pytest_collection_modifyitems(config, items):
    """Tests marked big run only when asked for: `-m "not real"` alone must not fetch 1.1 GB."""
    if big_selected(config):
        return
    skip = pytest.mark.skip(reason="big model: run with -m big, --big or MLX_IFP_BIG=1")
    for item in items:
        if "big" in item.keywords:
            item.add_marker(skip)
