"""PagerDuty Events API v2 bodies. Pure.

A trigger (and each re-alert) uses the alert id as ``dedup_key``, so PagerDuty keeps one
incident; a resolve closes it. The routing key is a secret: it is in the body PagerDuty needs,
and nowhere else.

>>> from alerts.model import Notification
>>> from alerts.testing import make_alert
>>> ev = pagerduty_event(Notification(alert=make_alert()), routing_key="R" * 32)
>>> ev["event_action"], ev["payload"]["severity"], ev["dedup_key"] == make_alert().alert_id
('trigger', 'error', True)
"""

from __future__ import annotations

from typing import Any

from alerts.model import Notification

__all__ = ["SEVERITY_MAP", "pagerduty_event"]

#: accessguard severity -> PagerDuty severity (critical, error, warning, info).
SEVERITY_MAP = {"critical": "critical", "high": "error", "medium": "warning", "low": "info",
                "info": "info"}
_SUMMARY_MAX = 1024


def pagerduty_event(note: Notification, *, routing_key: str) -> dict[str, Any]:
    a = note.alert
    if note.kind == "resolve":
        return {"routing_key": routing_key, "event_action": "resolve", "dedup_key": a.alert_id}
    summary = a.title if note.occurrences == 1 else f"{a.title} ({note.occurrences} occurrences)"
    details: dict[str, Any] = {
        "explanation": a.explanation,
        "alert_id": a.alert_id,
        "detector": a.detector,
        "key": f"{a.key_kind}:{a.key}",
        "user": a.user,
        "source_ips": list(a.source_ips),
        "first_seen": a.first_seen.isoformat(),
        "last_seen": a.last_seen.isoformat(),
        "occurrences": note.occurrences,
        "event_ids": list(a.event_ids[:20]),
        "evidence": a.evidence,
    }
    if a.labels:
        details["labels"] = a.labels
    payload: dict[str, Any] = {
        "summary": summary[:_SUMMARY_MAX],
        "source": a.user or a.key,
        "severity": SEVERITY_MAP[a.severity],
        "timestamp": a.last_seen.isoformat(),
        "component": a.detector,
        "class": a.key_kind,
        "custom_details": details,
    }
    if a.environment:
        payload["group"] = a.environment
    return {"routing_key": routing_key, "event_action": "trigger", "dedup_key": a.alert_id,
            "payload": payload, "client": "accessguard"}
