"""Mask sources behind one registry: each scores every FFN channel of every layer for a text.

Built in: ``griffin`` (per prompt, training-free), ``static`` (weight magnitude), ``static-act``
(Wanda-style calibration), ``random``, ``full`` and ``predictor`` (a trained one). Plug in more
with ``register_source``.
"""

from . import predictor, static  # noqa: F401  (each registers its sources)
from .base import (
    SOURCES,
    Griffin,
    GriffinStats,
    GroupedGriffin,
    MaskSource,
    Observer,
    Running,
    check_source_name,
    dense_prefill,
    eager,
    make_source,
    observes_last,
    register_source,
    standardise,
)
from .predictor import PredictorSource, llm_not_carried, lora_missing, picked_by, read_config
from .static import (
    DEFAULT_CALIBRATION,
    FixedMask,
    Full,
    RandomSource,
    StaticActivation,
    StaticWeight,
)

__all__ = [
    "DEFAULT_CALIBRATION",
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
    "make_source",
    "observes_last",
    "lora_missing",
    "llm_not_carried",
    "picked_by",
    "read_config",
    "register_source",
    "standardise",
]
