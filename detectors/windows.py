"""Event-time windows kept as plain sorted lists, so they serialise as JSON and expire by
event time (never by the wall clock, see DESIGN.md on Faust's windowed tables).

An entry is a list whose first item is the event time in POSIX seconds.

>>> entries = []
>>> insert(entries, [10.0, "b"]); insert(entries, [5.0, "a"]); insert(entries, [20.0, "c"])
>>> expire(entries, older_than=6.0); entries
[[10.0, 'b'], [20.0, 'c']]
"""

from __future__ import annotations

from bisect import insort
from typing import Any

__all__ = ["expire", "first_span", "insert", "is_late"]


def _ts(entry: list[Any]) -> float:
    return float(entry[0])


def insert(entries: list[list[Any]], entry: list[Any], *, max_entries: int = 0) -> None:
    """Insert in event-time order (stable for equal times); keep at most ``max_entries``."""
    if not entries or entries[-1][0] <= entry[0]:
        entries.append(entry)  # the common, in-order case
    else:
        insort(entries, entry, key=_ts)
    if max_entries and len(entries) > max_entries:
        del entries[: len(entries) - max_entries]


def expire(entries: list[list[Any]], *, older_than: float) -> None:
    """Drop entries whose event time is before ``older_than``."""
    n = 0
    for entry in entries:
        if entry[0] >= older_than:
            break
        n += 1
    if n:
        del entries[:n]


def is_late(watermark: float | None, ts: float, allowed_lateness_seconds: float) -> bool:
    """True when ``ts`` is older than the key's newest event time by more than the lateness."""
    return watermark is not None and ts < watermark - allowed_lateness_seconds


def first_span(
    entries: list[list[Any]], *, count: int, span_seconds: float, containing: int
) -> tuple[int, int] | None:
    """Find ``count`` consecutive entries spanning at most ``span_seconds`` that include index
    ``containing``; return (start, end) inclusive indices of the earliest such run, else None.
    """
    last = len(entries) - count
    for start in range(max(0, containing - count + 1), min(containing, last) + 1):
        end = start + count - 1
        if entries[end][0] - entries[start][0] <= span_seconds:
            return start, end
    return None
