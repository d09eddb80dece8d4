"""The shared mechanisms: FFN access for every architecture (``ffn``, ``slicing``,
``counting``), the mask and its budget (``mask``, ``budget``) and SoftTopK (``softtopk``)."""

from .budget import Budget
from .mask import Mask, check_fingerprint, fingerprint

__all__ = ["Budget", "Mask", "check_fingerprint", "fingerprint"]
