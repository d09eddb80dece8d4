"""Write a (slim) model where users run it: a standard mlx-lm folder."""

from .mlx_lm_folder import export

__all__ = ["export"]
