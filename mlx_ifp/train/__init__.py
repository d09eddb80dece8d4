"""Joint training of the sparsity predictor and the LLM: ``finetune`` is in ``loop``; the errors
it raises (``UsageError``, the package's, for bad input; ``Refused``; ``Interrupted``)."""

from .checkpoint import Refused, read_state
from .config import MASK_FORWARD, MLX_LM_KEYS, FinetuneConfig, UsageError, launched, load_config
from .loop import Interrupted, finetune

__all__ = [
    "MASK_FORWARD",
    "MLX_LM_KEYS",
    "FinetuneConfig",
    "Interrupted",
    "Refused",
    "UsageError",
    "finetune",
    "launched",
    "load_config",
    "read_state",
]
