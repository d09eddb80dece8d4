"""The offline multi-domain corpus: source readers (``readers``), seeded splits (``corpus``)."""

from .corpus import (
    DOMAINS,
    SPLITS,
    TASKS,
    BuildConfig,
    build,
    cached_build,
    distill,
    distilled,
    greedy_reply,
    load_split,
    missing_domains,
    tasks,
)

__all__ = [
    "DOMAINS",
    "SPLITS",
    "TASKS",
    "BuildConfig",
    "build",
    "cached_build",
    "distill",
    "distilled",
    "greedy_reply",
    "load_split",
    "missing_domains",
    "tasks",
]
