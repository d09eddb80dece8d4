"""``mlx_ifp bench``: the run (``run``), its preset models (``models``), tables (``report``)."""

from .run import VARIANTS, bench, interleaved

__all__ = ["VARIANTS", "bench", "interleaved"]
