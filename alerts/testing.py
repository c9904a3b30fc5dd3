"""Alert factories for examples and tests (pure; no I/O)."""

from __future__ import annotations

from typing import Any

from alerts.model import Alert
from detectors.findings import Finding
from detectors.testing import BASE_TS

__all__ = ["make_alert"]


def make_alert(ts: float = 0.0, *, incident: str = "e1", **fields: Any) -> Alert:
    """A ``failed_login_burst`` alert for alice whose last event is ``ts`` s after BASE_TS.

    ``incident`` feeds the stable id; any :class:`Alert` field can be overridden.
    """
    finding = Finding(
        detector=fields.pop("detector", "failed_login_burst"),
        severity=fields.pop("severity", "high"),
        key_kind="user",
        key=fields.pop("key", "alice"),
        title="Failed-login burst for alice",
        explanation="alice failed to log in 5 times within 40 s from 203.0.113.7 "
                    "(threshold: 5 within 5 min).",
        incident=incident,
        first_seen=BASE_TS + ts - 40,
        last_seen=BASE_TS + ts,
        event_ids=tuple(f"{incident}-{i}" for i in range(5)),
        user="alice",
        source_ips=("203.0.113.7",),
        evidence={"count": 5, "threshold": 5, "window_seconds": 300.0, "span_seconds": 40.0},
    )
    alert = Alert.from_finding(finding)
    return alert.model_copy(update=fields) if fields else alert
