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
from .sampling import (
    MAX_WINDOW,
    ContextFull,
    check_chat,
    check_kv_cache,
    check_options,
    check_repick,
    check_sampling,
    penalty_processors,
    read_examples,
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
    "forget",
    "generate",
    "keep_warning",
    "penalty_processors",
    "prune",
    "read_examples",
    "select",
    "stream_generate",
    "vocab_size",
    "with_eos",
]
