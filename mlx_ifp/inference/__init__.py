"""Mask -> slim model -> text: the ``Pruner`` (``pruner``), generation, re-picking (``repick``),
a call's arguments, sampling settings and repetition penalties (``sampling``)."""

from .generation import (
    PREFILL,
    Response,
    footer,
    forget,
    generate,
    repick_mod,
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
    format_chat,
    penalty_processors,
    read_examples,
    spaced_reply,
    vocab_size,
    with_eos,
)

# re-picking teacher-forced (``repick.forced``) and its rule (``repick.every``), for eval; the
# module as generation imports it
forced, positions, repick_every = repick_mod.forced, repick_mod.positions, repick_mod.every

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
