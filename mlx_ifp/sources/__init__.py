"""Mask sources behind one registry: each scores every FFN channel of every layer for a text.

Built in: ``griffin`` (per prompt, training-free), ``static`` (weight magnitude), ``static-act``
(Wanda-style calibration), ``random``, ``full`` and ``predictor`` (a trained one). Plug in more
with ``register_source``.
"""

import contextvars
import inspect

from . import base, predictor, static  # noqa: F401  (each registers its sources)
from .base import (
    BUILT_IN,
    READING,
    SOURCES,
    Griffin,
    GriffinStats,
    GroupedGriffin,
    MaskSource,
    Observer,
    Running,
    UsageError,  # (core's, which base raises: the package's one error, as cli's via generate)
    check_source_name,
    dense_prefill,
    eager,
    observes_last,
    register_source,
    standardise,
)
from .predictor import (
    PredictorSource,
    holds_predictor,
    keep_warning,
    llm_not_carried,
    lora_missing,
    picked_by,
    read_config,
)
from .static import (
    DEFAULT_CALIBRATION,
    FixedMask,
    Full,
    RandomSource,
    StaticActivation,
    StaticWeight,
)


def options_read(name) -> set[str] | None:
    """The options a built-in source's factory reads by name (``tokenizer`` aside: every
    factory is given it); None for a plug-in or an instance, whose factory takes what it takes."""
    if not isinstance(name, str) or name not in BUILT_IN:
        return None
    kinds = (inspect.Parameter.POSITIONAL_OR_KEYWORD, inspect.Parameter.KEYWORD_ONLY)
    params = inspect.signature(SOURCES[name]).parameters.values()
    return {p.name for p in params if p.kind in kinds} - {"tokenizer"}


#: what the package gives every source's factory, whichever the source (the model's tokenizer
#: and the adapter folder it was loaded with, for a plug-in to read): no source refuses them
GIVEN = ("tokenizer", "adapter_path")


def make_source(name: str | MaskSource, **options) -> MaskSource:
    """A source by name (see ``SOURCES``), or an instance passed through (``base.make_source``).
    An option a built-in's factory (or an instance) does not read is refused in one line, as
    ``Pruner`` refuses one, ``GIVEN`` aside (an option of None is not given); a plug-in's
    factory takes what it takes."""
    reads = set() if isinstance(name, MaskSource) else options_read(name)
    given = [k for k, v in options.items() if v is not None and k not in GIVEN]
    if reads is not None and (unread := [k for k in given if k not in reads]):
        what = f"{name.key()!r} (an instance)" if isinstance(name, MaskSource) else repr(name)
        takes = ", ".join([*sorted(reads - set(GIVEN)), *GIVEN])
        raise UsageError(f"mask source {what} takes no {', '.join(unread)} (it takes {takes})")
    return base.make_source(name, **options)


def selecting(step: int = 2048, progress=None) -> contextvars.Context:
    """A context to run a selection in (``selecting(...).run(select, ...)``): the dense pass a
    source scores a text with (GRIFFIN's, a trained predictor's, of GRIFFIN statistics or
    hidden states; a plug-in's may read ``base.READING`` too) takes ``step`` tokens at a time
    and calls ``progress(done, total)`` after each chunk, as ``dense_prefill`` does (an
    exception it raises stops the pass there)."""
    context = contextvars.copy_context()
    context.run(READING.set, {"step": step, "progress": progress})
    return context


__all__ = [
    "BUILT_IN",
    "DEFAULT_CALIBRATION",
    "GIVEN",
    "SOURCES",
    "check_source_name",
    "FixedMask",
    "Full",
    "Griffin",
    "GriffinStats",
    "GroupedGriffin",
    "MaskSource",
    "Observer",
    "PredictorSource",
    "RandomSource",
    "Running",
    "StaticActivation",
    "StaticWeight",
    "dense_prefill",
    "eager",
    "holds_predictor",
    "keep_warning",
    "make_source",
    "observes_last",
    "options_read",
    "lora_missing",
    "llm_not_carried",
    "picked_by",
    "read_config",
    "register_source",
    "selecting",
    "standardise",
]
