"""Plain-words reasons for an ML finding: each top feature against the user's own baseline.

>>> usual_hours([0] * 8 + [10] * 10 + [0] * 6)
'08:00-18:00'
>>> usual_days([9, 9, 9, 9, 9, 0, 0])
'Mon-Fri'
"""

from __future__ import annotations

from typing import Any

from detectors.events import AccessEvent
from detectors.ml.features import BUCKET_SECONDS, network_of
from detectors.text import duration

__all__ = ["describe", "usual_days", "usual_hours"]

_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_WINDOW = duration(BUCKET_SECONDS)


def _shortest_cover(hist: list[int], share: float) -> tuple[int, int] | None:
    """(start, length) of the shortest circular run of bins holding ``share`` of the mass."""
    n, total = len(hist), sum(hist)
    if total <= 0:
        return None
    for length in range(1, n + 1):
        best = max(range(n), key=lambda s: sum(hist[(s + k) % n] for k in range(length)))
        if sum(hist[(best + k) % n] for k in range(length)) >= share * total:
            return best, length
    return 0, n


def usual_hours(hist: list[int]) -> str:
    """The user's usual hours (UTC): the shortest span holding 95% of their events."""
    cover = _shortest_cover(hist, 0.95)
    if cover is None:
        return "no usual hours yet"
    start, length = cover
    return f"{start:02d}:00-{(start + length) % 24:02d}:00"


def usual_days(hist: list[int]) -> str:
    """The user's usual weekdays: the shortest run holding 90% of their events."""
    cover = _shortest_cover(hist, 0.9)
    if cover is None:
        return "no usual days yet"
    start, length = cover
    if length == 1:
        return _DAYS[start]
    return f"{_DAYS[start]}-{_DAYS[(start + length - 1) % 7]}"


def describe(feature: str, user: str, event: AccessEvent, base: dict[str, Any],
             window: list[Any]) -> str:
    """One sentence about ``feature`` for this event and the user's baseline before it."""
    ts = event.timestamp
    if feature == "hour_rarity":
        return f"{ts:%H:%M} UTC is outside {user}'s usual {usual_hours(base['h'])}"
    if feature == "weekday_rarity":
        return f"{_DAYS[ts.weekday()]} is unusual for {user} (usually {usual_days(base['d'])})"
    if feature == "rate":
        return f"{window[1]} events in {_WINDOW} vs a usual {max(base['r'], 1.0):.0f}"
    if feature == "distinct_resources":
        return (f"{len(window[3])} distinct resources in {_WINDOW} "
                f"vs a usual {max(base['u'], 1.0):.0f}")
    if feature == "distinct_networks":
        return f"{len(window[4])} source networks in {_WINDOW}"
    if feature == "failure_ratio":
        return f"{window[2]} of {window[1]} events in {_WINDOW} failed or were denied"
    if feature in ("new_resource", "new_sensitive_resource"):
        where = f" in {event.environment}" if event.environment else ""
        return f"first access by {user} to {event.resource}{where}"
    if feature == "new_network":
        net = network_of(event.source_ip) if event.source_ip else "an unknown network"
        return f"first time {user} comes from {net} ({len(base['kn'])} networks known)"
    if feature == "new_country":
        country = event.geo.country if event.geo is not None else "?"
        known = ", ".join(base["kc"]) or "none"
        return f"first time {user} comes from country {country} (known: {known})"
    if feature == "sensitive":
        return (f"{event.environment} access is rare for {user} "
                f"({base['s'][0]:.0%} of their events)")
    if feature == "privileged":
        kind = "destructive" if event.action == "delete" else "privileged"
        return (f"{kind} action '{event.action}' is rare for {user} "
                f"({base['s'][1]:.0%} of their events)")
    if feature == "interactive":
        who = "service account " if event.actor_type == "service" else ""
        return (f"interactive '{event.action}' by {who}{user}, who works interactively in "
                f"{base['s'][2]:.0%} of their events")
    if feature == "idle_gap":
        last = base["t"]
        gap = event.ts - last if last is not None and event.ts - last > 3600 else base["si"] * 3600
        return (f"{user}'s session began after {duration(gap)} idle, "
                f"far longer than their usual breaks")
    if feature == "service_actor":
        return f"{user} is a service account"
    raise ValueError(f"no description for feature {feature!r}")
