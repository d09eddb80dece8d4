"""Load an optimized BLAS before ``mlx.core`` on Linux (the mlx-cpu wheel ships reference BLAS).

Must run before the first ``import mlx.core``: MLX then resolves ``cblas_sgemm`` to OpenBLAS.
Set ``MLX_IFP_BLAS=none`` to skip, or ``MLX_IFP_BLAS=/path/libopenblas.so.0`` to choose one.
"""

from __future__ import annotations

import ctypes
import glob
import os
import site
import sys
import tempfile
from pathlib import Path

from ..common import atomic_file, cache_dir  # no mlx import there: safe before mlx.core

#: What happened: "openblas (<path>)", "reference", "skipped", "platform default", ...
STATUS = "not attempted"

_DEBIAN = [
    "/usr/lib/x86_64-linux-gnu/openblas-pthread/libopenblas.so.0",
    "/usr/lib/aarch64-linux-gnu/openblas-pthread/libopenblas.so.0",
    "/usr/lib/x86_64-linux-gnu/libopenblas.so.0",
    "/usr/lib/aarch64-linux-gnu/libopenblas.so.0",
]


def _site_dirs() -> list[str]:
    dirs = list(sys.path)
    try:
        dirs += site.getsitepackages() + [site.getusersitepackages()]
    except AttributeError:  # virtualenv's old site module
        pass
    return [d for d in dict.fromkeys(dirs) if d and os.path.isdir(d)]


def _candidates() -> list[str]:
    found = []
    for d in _site_dirs():
        found += glob.glob(os.path.join(d, "cmeel.prefix", "lib", "libopenblas.so.0"))
    return found + [p for p in _DEBIAN if os.path.exists(p)]


def _patched_gfortran(gf: str) -> bytes | None:
    """``gf`` with its SONAME set back to ``libgfortran.so.5`` (auditwheel renames vendored
    libraries; a same-length-or-shorter string patch), or None where it cannot be patched."""
    data = bytearray(Path(gf).read_bytes())
    old, new = os.path.basename(gf).encode() + b"\0", b"libgfortran.so.5\0"
    if data.count(old) != 1 or len(new) > len(old):
        return None
    i = data.find(old)
    data[i : i + len(old)] = new + b"\0" * (len(old) - len(new))
    return bytes(data)


def _gfortran_copy(data: bytes, spare: str) -> Path:
    """The patched copy in the cache, written (atomically) unless it holds ``data`` byte for byte:
    one cut short or damaged crashed every ``import mlx_ifp`` (SIGBUS), another mlx-cpu's was
    stale. Without a cache folder we can write (read-only, a file, no home: a locked-down app), an
    anonymous file in memory (``memfd``), else a copy in the temporary folder ``spare``."""
    try:
        out = cache_dir("blas") / "libgfortran.so.5"
        if not out.is_file() or out.read_bytes() != data:  # (2.8 MB: a few ms)
            with atomic_file(out) as tmp:
                tmp.write_bytes(data)
        return out
    except (OSError, ValueError):  # ValueError: no cache folder (common.UsageError)
        if hasattr(os, "memfd_create"):  # an anonymous file: nothing written (a read-only /tmp)
            fd = os.memfd_create("libgfortran.so.5", os.MFD_CLOEXEC)  # open while we run
            with open(fd, "wb", closefd=False) as f:  # (dlopen reads it by its /proc path)
                f.write(data)
            return Path(f"/proc/self/fd/{fd}")
        (out := Path(spare, "libgfortran.so.5")).write_bytes(data)
        return out


def _provide_gfortran() -> bool:
    """Make ``libgfortran.so.5`` loadable from a copy vendored in a wheel (mlx-cpu ships one):
    a copy with its SONAME set back (:func:`_patched_gfortran`), loaded globally."""
    for d in _site_dirs():
        for gf in glob.glob(os.path.join(d, "*.libs", "libgfortran-*.so.5*")):
            libs = os.path.dirname(gf)
            try:
                if (data := _patched_gfortran(gf)) is None:
                    continue
                for dep in glob.glob(os.path.join(libs, "libquadmath-*.so*")):
                    ctypes.CDLL(dep, mode=ctypes.RTLD_GLOBAL)
                with tempfile.TemporaryDirectory() as spare:  # (loaded: the file may go)
                    ctypes.CDLL(str(_gfortran_copy(data, spare)), mode=ctypes.RTLD_GLOBAL)
                return True
            except OSError:
                continue
    return False


def _too_late() -> str:
    """mlx.core came first: say so (and warn on a Linux CPU, where it costs ~30x in matmuls)."""
    if "openblas" in os.environ.get("LD_PRELOAD", ""):  # loaded before mlx.core after all
        return "openblas (LD_PRELOAD)"
    if sys.platform.startswith("linux"):
        import warnings

        import mlx.core as mx

        if mx.default_device() == mx.cpu:
            warnings.warn(
                "mlx.core was imported before mlx_ifp, so MLX keeps its slow reference BLAS "
                "on this CPU (matmuls ~30x slower): import mlx_ifp first",
                stacklevel=4,
            )
    return "unchanged (mlx.core was imported before mlx_ifp)"


def default_threads() -> int:
    """OpenBLAS threads when ``OPENBLAS_NUM_THREADS`` is unset: half the CPUs this process may
    run on, at least 1. OpenBLAS's spinning workers fight MLX's own threads and other jobs for
    the cores: on a busy 2-core machine the first ``generate`` took 59 s with OpenBLAS's
    default (all cores) and 27 s with one thread."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(1, n // 2)


def blas_status() -> str:
    """The one-line status :func:`load_optimized_blas` recorded."""
    return STATUS


def load_optimized_blas() -> str:
    """Try to load OpenBLAS globally; return and record a one-line status."""
    global STATUS
    choice = os.environ.get("MLX_IFP_BLAS", "").strip() or "auto"  # set but empty: auto
    if "mlx.core" in sys.modules:
        STATUS = _too_late()
    elif choice.lower() in ("none", "0", "off", "reference"):
        STATUS = "reference (MLX_IFP_BLAS=none)"
    elif not sys.platform.startswith("linux"):
        STATUS = "platform default (Accelerate on macOS)"
    else:
        paths = [choice] if choice != "auto" else _candidates()
        os.environ.setdefault("OPENBLAS_NUM_THREADS", str(default_threads()))  # read at load
        STATUS = "reference (no OpenBLAS found; pip install 'mlx-ifp[cpu]')"
        for path in paths:
            try:
                lib = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
            except OSError as e:
                if "libgfortran" not in str(e) or not _provide_gfortran():
                    STATUS = f"reference (could not load {path}: {e})"
                    continue
                try:
                    lib = ctypes.CDLL(path, mode=ctypes.RTLD_GLOBAL)
                except OSError as e2:
                    STATUS = f"reference (could not load {path}: {e2})"
                    continue
            if not hasattr(lib, "cblas_sgemm"):  # what MLX calls: another library is no BLAS
                STATUS = f"reference ({path} has no cblas_sgemm: not a BLAS library)"
                continue
            STATUS = f"openblas ({path})"
            break
    return STATUS
