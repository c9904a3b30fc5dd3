"""Small helpers that keep explanations readable."""

from __future__ import annotations

__all__ = ["duration", "plural"]


def plural(n: int, word: str) -> str:
    """``plural(1, "time") == "1 time"``, ``plural(3, "time") == "3 times"``."""
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


def duration(seconds: float) -> str:
    """Human duration: ``duration(250) == "4 min 10 s"``, ``duration(7200) == "2 h"``."""
    s = round(seconds)
    if s < 60:
        return f"{seconds:.3g} s" if seconds < 10 and seconds != s else f"{s} s"
    h, rem = divmod(s, 3600)
    m, sec = divmod(rem, 60)
    parts = [f"{h} h" if h else "", f"{m} min" if m else "", f"{sec} s" if sec else ""]
    return " ".join(p for p in parts if p)
