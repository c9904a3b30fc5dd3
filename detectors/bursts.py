"""Shared incident logic of the "N events within T seconds" rules.

The state is a JSON dict ``{"wm": newest event time, "e": window entries, "open": incident}``
with entries ``[ts, event_id, *extra]``. :func:`fold_burst` places one entry and says whether
it opened a new incident, with the semantics of ``failed_login_burst``: "within T" is
inclusive; an open incident ``[opening event id, last ts, count]`` absorbs entries that come
less than T after its last one and fires nothing; a quieter gap closes it. Entries later than
the allowed lateness are counted in ``late`` and otherwise ignored.

>>> st = new_state(0.0)
>>> [fold_burst(st, [t, f"e{t}"], threshold=2, window_seconds=10, lateness=60) for t in (0, 5, 9)]
[None, [[0, 'e0'], [5, 'e5']], None]
>>> st["open"]
['e0', 9, 3]
"""

from __future__ import annotations

from typing import Any

from detectors.windows import expire, first_span, insert, is_late

__all__ = ["burst_evidence", "fold_burst", "new_state"]


def new_state(ts: float) -> dict[str, Any]:
    return {"wm": ts, "e": [], "open": None}


def fold_burst(
    st: dict[str, Any],
    entry: list[Any],
    *,
    threshold: int,
    window_seconds: float,
    lateness: float,
    max_entries: int | None = None,
) -> list[list[Any]] | None:
    """Fold ``entry`` into ``st`` (in place); return the burst when it opens an incident.
    At most ``max_entries`` (default ``2 * threshold``) entries are kept between incidents."""
    ts = entry[0]
    if is_late(st["wm"], ts, lateness):
        st["late"] = st.get("late", 0) + 1
        return None
    st["wm"] = max(st["wm"], ts)
    open_ = st["open"]
    if open_ is not None:
        if ts - open_[1] <= window_seconds:  # the incident goes on
            open_[1] = max(open_[1], ts)
            open_[2] += 1
            return None
        st["open"] = None
    entries: list[list[Any]] = st["e"]
    insert(entries, entry, max_entries=max_entries or 2 * threshold)
    expire(entries, older_than=st["wm"] - window_seconds - lateness)
    try:
        at = entries.index(entry)
    except ValueError:  # out of order and older than every entry kept: nothing to add
        return None
    span = first_span(entries, count=threshold, span_seconds=window_seconds, containing=at)
    if span is None:
        return None
    burst = entries[span[0] : span[1] + 1]
    st["open"] = [burst[0][1], burst[-1][0], len(burst)]
    st["e"] = []
    return burst


def burst_evidence(burst: list[list[Any]], *, threshold: int, window_seconds: float
                   ) -> dict[str, Any]:
    """The evidence every burst finding carries: count, thresholds and the burst's span."""
    return {
        "count": len(burst),
        "threshold": threshold,
        "window_seconds": window_seconds,
        "span_seconds": round(burst[-1][0] - burst[0][0], 3),
    }
