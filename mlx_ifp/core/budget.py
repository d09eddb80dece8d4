"""The keep budget: FFN channels kept per layer, parsed and checked once at the edge."""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..common import UsageError


@dataclass(frozen=True)
class Budget:
    """A fraction in (0, 1] of each layer's FFN channels, or a whole channel count (> 1).

    ``align`` rounds the resolved count up to a multiple of it (capped at the FFN width).
    Build one with ``Budget.parse``; everything inside the package takes the parsed value.
    """

    value: float
    align: int = 1

    @classmethod
    def parse(cls, keep: Budget | float | int | str, align: int = 1) -> Budget:
        """A Budget from a user value (``0.5``, ``"768"``, ...) or an existing Budget."""
        if isinstance(align, bool) or not isinstance(align, int) or align < 1:
            raise UsageError(f"--align must be a whole number >= 1, got {align!r}")
        if isinstance(keep, Budget):
            return keep if align == 1 else cls(keep.value, align)
        try:
            value = float(str(keep).strip())
        except ValueError:
            raise UsageError(
                f"--keep must be a fraction in (0, 1] or a channel count, got {keep!r}"
            ) from None
        if not math.isfinite(value) or not value > 0:
            raise UsageError(f"--keep must be > 0, got {keep!r}")
        if value > 1 and value != int(value):
            raise UsageError(
                f"--keep {keep!r} is neither a fraction <= 1 nor a whole channel count"
            )
        return cls(value, align)

    @property
    def is_fraction(self) -> bool:
        return self.value <= 1

    def channels(self, d_ffn: int) -> int:
        """Channels to keep in a layer of width ``d_ffn``."""
        if self.is_fraction:
            k = max(1, round(self.value * d_ffn))
        elif self.value > d_ffn:
            raise UsageError(
                f"--keep {int(self.value)} is more than the {d_ffn} FFN channels of this model"
            )
        else:
            k = int(self.value)
        if self.align > 1:
            k = min(d_ffn, -(-k // self.align) * self.align)
        return k

    def __str__(self) -> str:
        return f"{self.value:g}" if self.is_fraction else str(int(self.value))
