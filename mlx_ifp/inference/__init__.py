"""Mask -> slim model -> text: the ``Pruner`` (``pruner``), generation, re-picking (``repick``),
a call's arguments, sampling settings and repetition penalties (``sampling``)."""

from .generation import (
    PREFILL,
    Response,
    footer,
    forget,
    generate,
    select,
    stream_generate,
)
from .pruner import KeepMismatch, PruneInfo, Pruner, SlimCache, keep_warning, prune
from .repick import every as repick_every
from .repick import forced, positions
from .sampling import (
    MAX_WINDOW,
    ContextFull,
    check_chat,
    check_kv_cache,
    check_options,
    check_repick,
    check_sampling,
    format_chat,
    penalty_processors,
    read_examples,
    spaced_reply,
    vocab_size,
    with_eos,
)

__all__ = [
    "MAX_WINDOW",
    "ContextFull",
    "PREFILL",
    "KeepMismatch",
    "PruneInfo",
    "Pruner",
    "Response",
    "SlimCache",
    "check_chat",
    "check_kv_cache",
    "check_options",
    "check_repick",
    "check_sampling",
    "footer",
    "forced",
    "forget",
    "format_chat",
    "generate",
    "keep_warning",
    "penalty_processors",
    "positions",
    "prune",
    "read_examples",
    "repick_every",
    "select",
    "spaced_reply",
    "stream_generate",
    "vocab_size",
    "with_eos",
]
