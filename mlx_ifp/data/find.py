"""Finding a built corpus: the one build in the cache, and the domains a corpus folder lacks."""

from __future__ import annotations

from pathlib import Path

from ..common import UsageError, cache_dir
from .corpus import DOMAINS


def missing_domains(folder: str | Path) -> list[str]:
    """The domains without a training split in a built corpus folder (prose is absent where
    the Debian prose packages were not installed when it was built)."""
    root = Path(folder).expanduser() / "domains"
    return [d for d in DOMAINS if not (root / d / "train.jsonl").is_file()]


def cached_build() -> Path:
    """The corpus `mlx_ifp data build` left in the cache, when there is exactly one; several
    (other seeds, or one built with and one without the Debian prose packages) are refused
    rather than one of them picked by name."""
    builds = sorted(p for p in cache_dir("data").glob("v1-*") if (p / "manifest.json").is_file())
    if not builds:
        raise UsageError("no corpus in the cache: run `mlx_ifp data build`, or pass --data")
    if len(builds) > 1:
        names = ", ".join(p.name for p in builds)
        raise UsageError(f"{len(builds)} corpora in the cache ({names}): pass --data FOLDER")
    return builds[0]
