"""Joint training of the sparsity predictor and the LLM: ``finetune`` is in ``loop``."""

from .checkpoint import Refused, read_state
from .config import MASK_FORWARD, MLX_LM_KEYS, FinetuneConfig, launched, load_config
from .loop import Interrupted, finetune

__all__ = [
    "MASK_FORWARD",
    "MLX_LM_KEYS",
    "FinetuneConfig",
    "Interrupted",
    "Refused",
    "finetune",
    "launched",
    "load_config",
    "read_state",
]
