"""Joint training of the sparsity predictor and the LLM.

Data -> batches (``batches``) -> masked forward and loss (``objective``, with the LLM's
trainable part and the mask-diversity probe) -> step (``loop``, with its progress display) ->
checkpoint (``checkpoint``, with the run's settings). Recipes live in ``examples/`` and
``tools/``.
"""

from .checkpoint import MASK_FORWARD, FinetuneConfig, load_config, read_state
from .loop import finetune

__all__ = ["MASK_FORWARD", "FinetuneConfig", "finetune", "load_config", "read_state"]
