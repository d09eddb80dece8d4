"""Write a (slim) model where users run it: an mlx-lm folder or a GGUF file (``exporters``)."""

from .exporters import GGUF_TYPES, export, export_gguf, source_info

__all__ = ["GGUF_TYPES", "export", "export_gguf", "source_info"]
