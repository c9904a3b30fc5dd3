"""A dependency-free progress line for long CLI steps (stderr; plain lines when not a TTY)."""

from __future__ import annotations

import sys
import time
from typing import IO

__all__ = ["Progress"]


class Progress:
    def __init__(self, label: str, total: int | None = None, *, stream: IO[str] | None = None,
                 every_seconds: float = 0.2) -> None:
        self.label, self.total, self.done = label, total, 0
        self._out = stream or sys.stderr
        self._tty = self._out.isatty()
        self._every = every_seconds if self._tty else 2.0
        self._last = 0.0
        self._start = time.monotonic()

    def advance(self, n: int = 1) -> None:
        self.done += n
        now = time.monotonic()
        if now - self._last >= self._every:
            self._last = now
            self._draw(final=False)

    def finish(self, note: str = "") -> None:
        self._draw(final=True, note=note)

    def _draw(self, *, final: bool, note: str = "") -> None:
        elapsed = max(time.monotonic() - self._start, 1e-9)
        if self.total:
            width = 30
            filled = int(width * min(self.done, self.total) / self.total)
            bar = f"[{'#' * filled}{'.' * (width - filled)}] {self.done}/{self.total}"
        else:
            bar = f"{self.done}"
        text = f"{self.label} {bar} ({self.done / elapsed:,.0f}/s) {note}".rstrip()
        if self._tty:
            self._out.write("\r\x1b[2K" + text + ("\n" if final else ""))
        elif final or self.done:
            self._out.write(text + "\n")
        self._out.flush()
