"""``python -m mlx_ifp.bench``: the same command as ``mlx_ifp bench``."""

import sys

from ..cli import main

main(["bench", *sys.argv[1:]], prog_name="mlx_ifp")  # bad flags: one line, as `mlx_ifp bench`
