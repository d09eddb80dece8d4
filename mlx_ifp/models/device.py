"""What the current device does with packed models: a self-check of its quantized matmuls, and
the one-time notice that a GPU's first packed forward compiles kernels. And on a Linux CPU,
whether this process has transparent huge pages for MLX's buffers.

MLX's CPU buffers come from glibc's malloc, and a new buffer is mapped 4 KiB at a time as it is
first written. Started with ``GLIBC_TUNABLES=glibc.malloc.hugetlb=1`` (glibc >= 2.35, read only
when a process starts), malloc asks the kernel for transparent huge pages instead. Measured
(README, "Linux CPU speed"): slicing Qwen2.5-1.5B's FFNs after a 128-token prompt 1,371 ms
instead of 2,575, but SmolLM2's slices 640-680 ms instead of 350-400; so it is opt-in.
"""

from __future__ import annotations

import functools
import os
import sys
import warnings
from pathlib import Path

import mlx.core as mx
import mlx.nn as nn

#: shown once per process before the first packed forward on a GPU
COMPILING = "compiling GPU kernels (first run on this machine)…"
#: a packed matmul may differ from dequantize + matmul by this much (relative to max |y|)
TOLERANCE = 1e-3
#: (bits, group size) self-checked: mlx-lm's usual 4- and 8-bit at group size 64, and every packed
#: form the GGUF importer makes (4-, 5- and 8-bit at group size 32: gguf_decode.PACKED, which
#: tests/test_device.py checks is covered)
FORMATS = ((4, 32), (4, 64), (5, 32), (8, 32), (8, 64))
_noticed: set[int] = set()
_warned: set[str] = set()


#: the page MLX's GPU allocators hand out whole past one page (Metal's vm_page_size on Apple
#: silicon, CUDA's page_size: mlx/backend/metal/allocator.cpp, mlx/backend/cuda/allocator.cpp)
PAGE = 16384


def allocated_bytes(nbytes: int) -> int:
    """What MLX's allocator on the default device takes for a buffer of ``nbytes``: on a GPU
    whole pages past one page, and below one CUDA's next power of two (at least 8); on the CPU
    (and Metal below a page) the bytes asked. Counting bytes alone put ``serve``'s slot of the
    embedded SmolLM2 6-7% under MLX's active memory on CUDA (docs/results/cuda_tests/s57/)."""
    if nbytes <= 0 or mx.default_device().type != mx.gpu:
        return max(nbytes, 0)
    if nbytes >= PAGE:
        return -(-nbytes // PAGE) * PAGE
    return nbytes if mx.metal.is_available() else max(8, 1 << (nbytes - 1).bit_length())


def is_packed(model: nn.Module) -> bool:
    """True if the first transformer block of ``model`` holds packed (quantized) projections."""
    blocks = getattr(model, "layers", None)
    root = blocks[0] if isinstance(blocks, list) and blocks else model
    return any(isinstance(m, nn.QuantizedLinear) for _, m in root.named_modules())


@functools.cache
def _check(device: str) -> dict:
    worst, cases = 0.0, []
    for bits, group_size in FORMATS:
        kw, kx = mx.random.split(mx.random.key(100 * bits + group_size))
        w = mx.random.normal((192, 256), key=kw)
        x = mx.random.normal((3, 256), key=kx)
        wq, scales, biases = mx.quantize(w, group_size, bits)
        got = mx.quantized_matmul(x, wq, scales, biases, True, group_size, bits)
        ref = x @ mx.dequantize(wq, scales, biases, group_size, bits).T
        err = float((mx.max(mx.abs(got - ref)) / mx.max(mx.abs(ref))).item())
        cases.append(f"{bits}-bit/g{group_size}")
        worst = max(worst, err)
    return {"ok": worst <= TOLERANCE, "max_error": worst, "device": device, "cases": cases}


def packed_matmul_check() -> dict:
    """``quantized_matmul`` vs dequantize + matmul on small random matrices, on this device.

    Returns ``{"ok", "max_error" (relative to the largest output), "device", "cases"}``;
    computed once per process and device.
    """
    return _check(str(mx.default_device()))


def packed_matmul_warning(model: nn.Module) -> str | None:
    """The warning to give, once per process, if ``model`` is packed and the self-check fails."""
    if _warned or not is_packed(model):
        return None
    result = packed_matmul_check()
    _warned.add(result["device"])
    if result["ok"]:
        return None
    return (
        f"packed (quantized) matmuls on {result['device']} disagree with dequantize + matmul "
        f"(max relative error {result['max_error']:.2g}): outputs may be wrong; load the model "
        "with dequantize=True (--dequantize)"
    )


def warn_if_packed_matmul_broken(model: nn.Module) -> None:
    """``warnings.warn`` the ``packed_matmul_warning``, if there is one."""
    if message := packed_matmul_warning(model):
        warnings.warn(message, RuntimeWarning, stacklevel=3)


def _on_cuda() -> bool:
    return mx.default_device() != mx.cpu and mx.cuda.is_available()


def _kernel_cache_is_empty() -> bool:
    """MLX's CUDA backend keeps compiled kernels under /tmp/mlx/<version>/ptx (seen on Linux)."""
    folder = Path(os.environ.get("TMPDIR", "/tmp"), "mlx", mx.__version__, "ptx")
    return not folder.is_dir() or not any(folder.iterdir())


def claim_compile_notice(model: nn.Module) -> bool:
    """True, once per process, when ``model``'s first forward may compile GPU kernels first.

    That is a packed model on MLX's CUDA backend (NVRTC, ~47 s on an H200) whose kernel cache
    looks empty; Metal ships its kernels prebuilt. Whoever gets True shows ``COMPILING`` (the
    CLI as a status line, the library as a line on stderr).
    """
    if _noticed or not _on_cuda() or not is_packed(model):
        return False
    _noticed.add(id(model))
    return _kernel_cache_is_empty()


def notify_compiling(model: nn.Module) -> None:
    """The library's notice: one plain line on stderr (no rich at ``import mlx_ifp``)."""
    if claim_compile_notice(model):
        print(COMPILING, file=sys.stderr, flush=True)


# -- huge pages (Linux CPU) --

HUGEPAGES_TUNABLE = "glibc.malloc.hugetlb=1"
THP_SETTING = "/sys/kernel/mm/transparent_hugepage/enabled"


def _glibc_at_least(major: int, minor: int) -> bool:
    try:
        name, version = os.confstr("CS_GNU_LIBC_VERSION").split()  # "glibc 2.36"
        have = tuple(int(x) for x in version.split(".")[:2])
    except (AttributeError, ValueError, OSError):
        return False
    return name == "glibc" and have >= (major, minor)


def huge_pages_available() -> bool:
    """Could malloc be asked for huge pages here (Linux, glibc >= 2.35, THP not off)?"""
    if sys.platform != "linux" or not _glibc_at_least(2, 35):
        return False
    try:
        with open(THP_SETTING) as f:
            return "[never]" not in f.read()
    except OSError:
        return False


def hugepages_status() -> str:
    """One line for ``mlx_ifp info``."""
    if not huge_pages_available():
        return "not available here"
    if HUGEPAGES_TUNABLE in os.environ.get("GLIBC_TUNABLES", "").split(":"):
        return "on (malloc asks for transparent huge pages)"
    return f"off (GLIBC_TUNABLES={HUGEPAGES_TUNABLE} at start turns them on)"
