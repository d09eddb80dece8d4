"""Mask -> slim model -> text: the ``Pruner`` (``pruner``), generation, re-picking (``repick``)."""

from .generation import (
    Response,
    check_repick,
    check_sampling,
    footer,
    forget,
    generate,
    penalty_processors,
    select,
    stream_generate,
)
from .pruner import KeepMismatch, PruneInfo, Pruner, SlimCache, keep_warning, prune

__all__ = [
    "KeepMismatch",
    "PruneInfo",
    "Pruner",
    "Response",
    "SlimCache",
    "check_repick",
    "check_sampling",
    "footer",
    "forget",
    "generate",
    "keep_warning",
    "penalty_processors",
    "prune",
    "select",
    "stream_generate",
]
