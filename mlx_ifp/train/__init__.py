"""Joint training of the sparsity predictor and the LLM: ``finetune`` is in ``loop``."""

from .checkpoint import read_state
from .config import MASK_FORWARD, FinetuneConfig, load_config
from .loop import finetune

__all__ = ["MASK_FORWARD", "FinetuneConfig", "finetune", "load_config", "read_state"]
