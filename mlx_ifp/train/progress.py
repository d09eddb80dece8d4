"""What a training run shows while it runs: a rich progress bar (loss, tokens/s, peak memory,
ETA), validation notes, and a final summary."""

from __future__ import annotations

import mlx.core as mx
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
from rich.progress import Progress as _Progress


class Progress:
    """A progress bar over optimizer steps (silent when ``enabled`` is False: other ranks)."""

    def __init__(self, total: int, start: int = 0, enabled: bool = True):
        self.enabled = enabled
        self.console = Console(stderr=True)
        self.bar = _Progress(
            TextColumn("[bold]finetune"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}"),
            TimeRemainingColumn(),
            console=self.console,
            disable=not enabled,
        )
        self.task = self.bar.add_task("train", total=total, completed=start, stats="")

    def __enter__(self):
        self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        return self.bar.__exit__(*exc)

    def advance(self, loss: float, tokens_per_s: float, eps: float) -> None:
        peak = mx.get_peak_memory() / 1e9
        stats = f"loss {loss:.4f}  {tokens_per_s:,.0f} tok/s  peak {peak:.2f} GB  eps {eps:.3g}"
        self.bar.update(self.task, advance=1, stats=stats)

    def note(self, text: str) -> None:
        if self.enabled:
            self.bar.console.print(text)

    def summary(self, history: list, val: list, out) -> None:
        if not self.enabled or not history:
            return
        tail = history[-min(10, len(history)) :]
        lines = [
            f"steps {len(history)}, train loss {sum(tail) / len(tail):.4f} (last {len(tail)})",
            f"peak memory {mx.get_peak_memory() / 1e9:.2f} GB",
        ]
        if val:
            lines.append(f"validation loss {val[0][1]:.4f} (step {val[0][0]}) -> {val[-1][1]:.4f}")
        lines.append(f"checkpoint {out}")
        self.console.print("\n".join(lines))
