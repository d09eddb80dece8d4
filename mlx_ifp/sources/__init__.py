"""Mask sources behind one registry: each scores every FFN channel of every layer for a text.

Built in: ``griffin`` (per prompt, training-free), ``static`` (weight magnitude), ``static-act``
(Wanda-style calibration), ``random``, ``full`` and ``predictor`` (a trained one). Plug in more
with ``register_source``.
"""

from . import griffin, predictor, simple, static  # noqa: F401  (each registers its sources)
from .base import MaskSource, Observer, Running, dense_prefill, eager
from .griffin import Griffin, GriffinStats, GroupedGriffin, standardise
from .predictor import PredictorSource
from .registry import SOURCES, make_source, register_source
from .simple import FixedMask, Full, RandomSource
from .static import DEFAULT_CALIBRATION, StaticActivation, StaticWeight

__all__ = [
    "DEFAULT_CALIBRATION",
    "SOURCES",
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
    "register_source",
    "standardise",
]
