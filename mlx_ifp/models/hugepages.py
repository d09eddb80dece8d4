"""Transparent huge pages for MLX's CPU buffers on Linux: whether this process has them.

MLX's CPU buffers come from glibc's malloc, and a new buffer is mapped 4 KiB at a time as it is
first written. Started with ``GLIBC_TUNABLES=glibc.malloc.hugetlb=1`` (glibc >= 2.35, read only
when a process starts), malloc asks the kernel for transparent huge pages instead. Measured
(README, "Linux CPU speed"): slicing Qwen2.5-1.5B's FFNs after a 128-token prompt 1,371 ms
instead of 2,575, but SmolLM2's slices 640-680 ms instead of 350-400; so it is opt-in.
"""

from __future__ import annotations

import os
import sys

TUNABLE = "glibc.malloc.hugetlb=1"
THP = "/sys/kernel/mm/transparent_hugepage/enabled"


def _glibc_at_least(major: int, minor: int) -> bool:
    try:
        name, version = os.confstr("CS_GNU_LIBC_VERSION").split()  # "glibc 2.36"
        have = tuple(int(x) for x in version.split(".")[:2])
    except (AttributeError, ValueError, OSError):
        return False
    return name == "glibc" and have >= (major, minor)


def available() -> bool:
    """Could malloc be asked for huge pages here (Linux, glibc >= 2.35, THP not off)?"""
    if sys.platform != "linux" or not _glibc_at_least(2, 35):
        return False
    try:
        with open(THP) as f:
            return "[never]" not in f.read()
    except OSError:
        return False


def status() -> str:
    """One line for ``mlx_ifp info``."""
    if not available():
        return "not available here"
    if TUNABLE in os.environ.get("GLIBC_TUNABLES", "").split(":"):
        return "on (malloc asks for transparent huge pages)"
    return f"off (GLIBC_TUNABLES={TUNABLE} at start turns them on)"
