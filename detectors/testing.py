"""Event factories for detector examples and tests (pure; no I/O)."""

from __future__ import annotations

from itertools import count
from typing import Any

from detectors.events import AccessEvent
from detectors.findings import utc

__all__ = ["BASE_TS", "make_event"]

#: 2026-03-02 09:00:00 UTC, a Monday: the default "now" of examples.
BASE_TS = 1772442000.0
_ids = count(1)


def make_event(ts: float = 0.0, **fields: Any) -> AccessEvent:
    """An event ``ts`` seconds after :data:`BASE_TS`; any v1 field can be overridden."""
    data: dict[str, Any] = {
        "event_id": f"ev-{next(_ids):06d}",
        "timestamp": utc(BASE_TS + ts),
        "user": "alice",
        "action": "login",
        "outcome": "success",
        "source_ip": "203.0.113.7",
    }
    data.update(fields)
    return AccessEvent.model_validate(data)
