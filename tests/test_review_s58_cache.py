"""Fifty-eighth session, the package's on-disk caches (helper ``cache``). What failed before:

- ``blas/libgfortran.so.5`` cut short (a damaged disk, a partial copy of the cache) crashed
  every ``import mlx_ifp`` with SIGBUS on a Linux CPU (a zero-byte one: reference BLAS, ~30x
  slower matmuls, forever); with the cache folder a file, reference BLAS too, silently.
"""

import os
import subprocess
import sys
from pathlib import Path

import mlx_ifp  # noqa: F401  (before mlx.core)

import pytest

ROOT = Path(__file__).resolve().parent.parent
STATUS = "import mlx_ifp; from mlx_ifp.models.blas import blas_status; print(blas_status())"


def blas_run(cache: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "MLX_IFP_CACHE": str(cache), "PYTHONPATH": str(ROOT)}
    env.pop("MLX_IFP_BLAS", None)
    cmd = [sys.executable, "-c", STATUS]
    return subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)


def test_a_damaged_blas_copy_is_made_again_and_no_cache_is_no_slowdown(tmp_path):
    first = blas_run(tmp_path / "cache")
    copy = tmp_path / "cache" / "blas" / "libgfortran.so.5"
    if not copy.is_file():
        pytest.skip(f"this platform's BLAS needs no libgfortran copy ({first.stdout.strip()})")
    good, status = copy.read_bytes(), first.stdout
    assert status.startswith("openblas"), first.stderr[-2000:]
    for damaged in (good[:100_000], b"", good[:-4096] + bytes(4096)):  # cut, empty, zeroed tail
        copy.write_bytes(damaged)
        again = blas_run(tmp_path / "cache")
        assert again.returncode == 0 and again.stdout == status, again.stderr[-2000:]
        assert copy.read_bytes() == good
    (tmp_path / "a file").write_text("x")  # the cache "folder": a file (no cache at all)
    assert blas_run(tmp_path / "a file").stdout == status
