"""What a training run shows while it runs: progress over optimizer steps (loss, tokens/s, peak
memory; a bar on a terminal, plain lines elsewhere: ``mlx_ifp.common.Progress``), validation notes,
and a final summary."""

from __future__ import annotations

import mlx.core as mx

from .. import common


class Progress(common.Progress):
    """Optimizer steps of a run (silent when ``enabled`` is False: other ranks, ``quiet``)."""

    def __init__(self, total: int, start: int = 0, enabled: bool = True, bar: bool | None = None):
        super().__init__("finetune", total, start, unit="step", enabled=enabled, bar=bar)

    def advance(self, loss: float, tokens_per_s: float, eps: float) -> None:
        peak = mx.get_peak_memory() / 1e9
        stats = (f"loss {loss:.4f}", f"{tokens_per_s:,.0f} tok/s", f"peak {peak:.2f} GB")
        super().advance(1, (*stats, f"eps {eps:.3g}"))

    def summary(self, history: list, val: list, out) -> None:
        if not self.enabled or not history:
            return
        tail = history[-min(10, len(history)) :]
        mean = sum(tail) / len(tail)
        self.note(f"steps {len(history)}, train loss {mean:.4f} (last {len(tail)})")
        self.note(f"peak memory {mx.get_peak_memory() / 1e9:.2f} GB")
        if val:
            self.note(f"validation loss {val[0][1]:.4f} (step {val[0][0]}) -> {val[-1][1]:.4f}")
        self.note(f"checkpoint {out}")
