"""The offline multi-domain corpus: readers of real sources (``readers``), the seeded splits and
files (``corpus``)."""

from .corpus import (
    DOMAINS,
    SPLITS,
    TASKS,
    BuildConfig,
    build,
    distill,
    greedy_reply,
    load_split,
    tasks,
)

__all__ = [
    "DOMAINS",
    "SPLITS",
    "TASKS",
    "BuildConfig",
    "build",
    "distill",
    "greedy_reply",
    "load_split",
    "tasks",
]
