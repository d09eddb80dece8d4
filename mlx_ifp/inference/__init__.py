"""Mask -> slim model -> text: chat prompts, the ``Pruner`` and its cache, generation."""

from .generation import Response, footer, generate, select, stream_generate
from .pruner import PruneInfo, Pruner, SlimCache, prune

__all__ = [
    "PruneInfo",
    "Pruner",
    "Response",
    "SlimCache",
    "footer",
    "generate",
    "prune",
    "select",
    "stream_generate",
]
