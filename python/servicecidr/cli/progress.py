"""A progress bar for work that may take more than a second, drawn only on a terminal.

It appears after ``delay`` seconds (short work never flickers), redraws at most ten times
a second, and erases itself when done, so what is left on the screen is the result.
Output that is not a terminal (a pipe, a file, a test) gets nothing.
"""

from __future__ import annotations

import time
from typing import TextIO

__all__ = ["Progress"]


class Progress:
    """``start(total, label)``, then ``advance(n)`` or ``update(done, total)``, then
    ``finish()``. A total of 0 means unknown: the bar shows a count instead. ``suffix``
    (empty by default) is drawn after the count: running, failed, ETA."""

    def __init__(self, stream: TextIO, delay: float = 0.5, width: int = 30) -> None:
        self.stream = stream
        try:
            self.enabled = bool(stream.isatty())
        except (AttributeError, ValueError):
            self.enabled = False
        self.delay = delay
        self.width = width
        self.total = 0
        self.done = 0
        self.label = ""
        self.suffix = ""
        self._start = time.monotonic()
        self._last = 0.0
        self._drawn = False

    def start(self, total: int, label: str) -> None:
        """Begin a run of ``total`` steps (0: unknown)."""
        self.total, self.done, self.label = max(total, 0), 0, label
        self._start, self._last = time.monotonic(), 0.0

    def advance(self, n: int = 1) -> None:
        """``n`` more steps are done."""
        self.update(self.done + n)

    def update(self, done: int, total: int | None = None) -> None:
        """``done`` steps are done (of ``total``, when it became known)."""
        self.done = done
        if total is not None:
            self.total = total
        if not self.enabled:
            return
        now = time.monotonic()
        if now - self._start < self.delay or now - self._last < 0.1:
            return
        self._last = now
        if self.total:
            frac = min(1.0, self.done / self.total)
            filled = int(frac * self.width)
            bar = "#" * filled + "-" * (self.width - filled)
            text = f"\r{self.label} [{bar}] {frac * 100:5.1f}% ({self.done}/{self.total})"
        else:
            text = f"\r{self.label} {self.done:,}"
        if self.suffix:
            text += f" {self.suffix}\x1b[K"
        self.stream.write(text)
        self.stream.flush()
        self._drawn = True

    def finish(self) -> None:
        """Erase the bar."""
        if self._drawn:
            self.stream.write("\r\x1b[K")
            self.stream.flush()
            self._drawn = False
