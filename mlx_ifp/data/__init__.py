"""The offline multi-domain corpus: source readers (``readers``), seeded splits (``corpus``)."""

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
