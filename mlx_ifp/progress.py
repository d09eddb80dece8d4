"""Progress of a long command on stderr, shared by ``data build``, ``eval`` and ``finetune``: a
rich bar on a terminal; elsewhere (a log file, a pipe, CI) plain lines: one each ``every_s``
seconds or each ``1/parts`` of the work, whichever comes first, and a final line."""

from __future__ import annotations

import sys
import time
from collections.abc import Sequence
from datetime import timedelta


def interactive() -> bool:
    """Whether stderr shows a live bar: a terminal (not ``TERM=dumb``) or a notebook."""
    from rich.console import Console

    console = Console(stderr=True)
    return console.is_interactive or console.is_jupyter


class Progress:
    """``total`` steps of work named ``label``; ``advance`` after each, ``note`` for messages.

    ``unit`` names a step in the plain lines (``finetune: step 3/40, ...``); ``stats`` are short
    figures such as ``loss 0.41``. Silent when ``enabled`` is False (other ranks, ``quiet``).
    """

    def __init__(
        self,
        label: str,
        total: int | None,
        start: int = 0,
        unit: str = "",
        enabled: bool = True,
        transient: bool = False,
        every_s: float = 10.0,
        parts: int = 10,
        bar: bool | None = None,
    ):
        self.label, self.total, self.done, self.unit = label, total, start, unit
        self.enabled, self.every_s, self.parts = enabled, every_s, parts
        self.description, self.stats = "", ()
        self.t0 = self.last_time = time.monotonic()
        self.last_step = self._bucket(start)
        self.bar = None
        if enabled and (interactive() if bar is None else bar):
            self.bar = self._rich(transient)

    def _rich(self, transient: bool):
        from rich.console import Console
        from rich.progress import BarColumn, MofNCompleteColumn, TextColumn, TimeRemainingColumn
        from rich.progress import Progress as Bar

        bar = Bar(
            TextColumn("[bold]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[stats]}"),
            TimeRemainingColumn(),
            console=Console(stderr=True),
            transient=transient,
        )
        self.task = bar.add_task(self.label, total=self.total, completed=self.done, stats="")
        return bar

    def __enter__(self):
        if self.bar is not None:
            self.bar.__enter__()
        return self

    def __exit__(self, *exc):
        if self.bar is not None:
            return self.bar.__exit__(*exc)
        if self.enabled:
            self._print(final=True)
        return False

    def describe(self, text: str) -> None:
        """What is being worked on now (shown beside the label)."""
        self.description = text
        if self.bar is not None:
            self.bar.update(self.task, description=f"{self.label}: {text}")

    def advance(self, n: int = 1, stats: Sequence[str] = ()) -> None:
        self.done += n
        self.stats = tuple(stats)
        if self.bar is not None:
            self.bar.update(self.task, advance=n, stats="  ".join(self.stats))
            return
        now, bucket = time.monotonic(), self._bucket(self.done)
        finished = self.total is not None and self.done >= self.total  # the final line says it
        if self.enabled and not finished:
            if bucket > self.last_step or now - self.last_time >= self.every_s:
                self._print()

    def note(self, text: str) -> None:
        """A message line that does not disturb the bar."""
        if not self.enabled:
            return
        if self.bar is not None:
            self.bar.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=sys.stderr, flush=True)

    def _bucket(self, done: int) -> int:
        return done * self.parts // self.total if self.total else 0

    def _print(self, final: bool = False) -> None:
        self.last_time, self.last_step = time.monotonic(), self._bucket(self.done)
        count = f"{self.done}/{self.total}" if self.total is not None else str(self.done)
        count = f"{self.unit} {count}" if self.unit else count
        over = final and (self.total is None or self.done >= self.total)
        if final:
            count = f"finished, {count}" if over else f"stopped at {count}"
        elapsed = timedelta(seconds=int(self.last_time - self.t0))
        doing = "" if over else self.description  # the last piece of work, not the whole
        fields = [count, doing, *self.stats, f"{elapsed} elapsed"]
        print(f"{self.label}: " + ", ".join(f for f in fields if f), file=sys.stderr, flush=True)
