"""Mask -> slim model -> text: chat prompts, the ``Pruner`` and its cache, generation."""

from .generation import Response, footer, generate, select, stream_generate
from .pruner import KeepMismatch, PruneInfo, Pruner, SlimCache, keep_warning, prune

__all__ = [
    "KeepMismatch",
    "PruneInfo",
    "Pruner",
    "Response",
    "SlimCache",
    "footer",
    "generate",
    "keep_warning",
    "prune",
    "select",
    "stream_generate",
]
