"""The sparsity predictor: a model of its own (``model``), its files (``files``) and the mask
source that serves it (``source``)."""

from .files import (
    CONFIG_FILE,
    WEIGHTS_FILE,
    load_predictor,
    new_predictor,
    read_config,
    save_predictor,
    update_config,
    warm_start,
)
from .model import HEADS, Predictor, PredictorConfig, head_params, hidden_states, pool, source_pass
from .source import PredictorSource

__all__ = [
    "CONFIG_FILE",
    "HEADS",
    "WEIGHTS_FILE",
    "Predictor",
    "PredictorConfig",
    "PredictorSource",
    "head_params",
    "hidden_states",
    "load_predictor",
    "new_predictor",
    "pool",
    "read_config",
    "save_predictor",
    "source_pass",
    "update_config",
    "warm_start",
]
