"""The registry of mask sources: ``register_source`` plugs one in, ``make_source`` builds one."""

from __future__ import annotations

from collections.abc import Callable

from ..common import UsageError
from .base import MaskSource

SOURCES: dict[str, Callable[..., MaskSource]] = {}


def register_source(name: str, factory: Callable[..., MaskSource]) -> None:
    """Plug in a mask source; ``factory(**options)`` receives tokenizer=, seed=, and so on."""
    SOURCES[name] = factory


def make_source(name: str | MaskSource, **options) -> MaskSource:
    """A source by name (see ``SOURCES``), or pass an instance through."""
    if isinstance(name, MaskSource):
        return name
    if name not in SOURCES:
        raise UsageError(f"unknown mask source {name!r} (choose from {', '.join(SOURCES)})")
    return SOURCES[name](**options)
