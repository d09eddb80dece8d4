"""Joint training of the sparsity predictor and the LLM.

Data -> batches (``batches``) -> masked forward and loss (``objective``) -> step (``loop``) ->
checkpoint (``checkpoint``); settings in ``config``, the LLM's trainable part in ``llm``, the
progress display in ``progress``. Recipes live in ``examples/`` and ``tools/``.
"""

from .checkpoint import read_state
from .config import MASK_FORWARD, FinetuneConfig, load_config
from .loop import finetune

__all__ = ["MASK_FORWARD", "FinetuneConfig", "finetune", "load_config", "read_state"]
