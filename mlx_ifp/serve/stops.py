"""Stop strings over streamed text: hold back what could be the start of a stop string."""

from __future__ import annotations


class StopFilter:
    """Cuts a text stream at the first stop string; never emits any part of a stop string."""

    def __init__(self, stops: list[str]):
        self.stops = [s for s in stops if s]
        self.hold = max((len(s) for s in self.stops), default=1) - 1
        self.buffer = ""

    def push(self, text: str) -> tuple[str, bool]:
        """Add streamed text; returns (text safe to emit now, whether a stop string was hit)."""
        if not self.stops:
            return text, False
        self.buffer += text
        hits = [i for i in (self.buffer.find(s) for s in self.stops) if i >= 0]
        if hits:
            out, self.buffer = self.buffer[: min(hits)], ""
            return out, True
        cut = max(len(self.buffer) - self.hold, 0)
        out, self.buffer = self.buffer[:cut], self.buffer[cut:]
        return out, False

    def flush(self) -> str:
        """What is still held back, once the stream has ended without a stop string."""
        out, self.buffer = self.buffer, ""
        return out
