"""``mlx_ifp bench``: side-by-side speed and memory of the source, slim and reference models."""

from .run import VARIANTS, bench, interleaved

__all__ = ["VARIANTS", "bench", "interleaved"]
