"""``mlx_ifp bench``: the run (``run``); its preset models, tables and plot (``models``)."""

from .models import plot, print_tables
from .run import VARIANTS, bench, interleaved

__all__ = ["VARIANTS", "bench", "interleaved", "plot", "print_tables"]
