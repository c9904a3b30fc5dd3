"""Slack incoming-webhook message with Block Kit. Pure.

Header (title), fields (severity, detector, user, source IPs with country, counts, window),
the explanation, and a context line with the alert id and the UTC time. At most 50 blocks,
Slack's text limits respected.

>>> from alerts.model import Notification
>>> from alerts.testing import make_alert
>>> msg = slack_message(Notification(alert=make_alert()))
>>> [b["type"] for b in msg["blocks"]]
['header', 'section', 'section', 'context']
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from alerts.model import Alert, Notification
from detectors.text import duration

__all__ = ["MAX_BLOCKS", "slack_message"]

MAX_BLOCKS = 50
_HEADER_MAX = 150
_FIELD_MAX = 2000
_TEXT_MAX = 3000
_EMOJI = {"critical": ":red_circle:", "high": ":large_orange_circle:",
          "medium": ":large_yellow_circle:", "low": ":white_circle:",
          "info": ":information_source:"}
_PREFIX = {"trigger": "", "realert": "Still firing: ", "resolve": "Resolved: "}


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _esc(text: str) -> str:
    """Escape Slack mrkdwn control characters."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _utc(ts: datetime) -> str:
    return ts.strftime("%Y-%m-%d %H:%M:%S UTC")


def country(alert: Alert) -> str | None:
    """Where the source is, if an enricher or the detector said so (labels or evidence).

    >>> from alerts.testing import make_alert
    >>> country(make_alert(evidence={"from": "Berlin, DE", "to": "Lima, PE"}))
    'Berlin, DE → Lima, PE'
    """
    ev = alert.evidence
    for value in (alert.labels.get("country"), ev.get("country"), ev.get("new_country")):
        if isinstance(value, str) and value:
            return value
    if isinstance(ev.get("from"), str) and isinstance(ev.get("to"), str):
        return f"{ev['from']} → {ev['to']}"
    return None


def _fields(note: Notification) -> list[tuple[str, str]]:
    a = note.alert
    out = [("Severity", a.severity), ("Detector", a.detector)]
    if a.user:
        out.append(("User", a.user))
    if a.source_ips:
        ips = ", ".join(a.source_ips[:5]) + (f" (+{len(a.source_ips) - 5})"
                                             if len(a.source_ips) > 5 else "")
        where = country(a)
        out.append(("Source IP", f"{ips} ({where})" if where else ips))
    if a.environment:
        out.append(("Environment", a.environment))
    count = a.evidence.get("count")
    counts = f"{count} events" if isinstance(count, int) else f"{len(a.event_ids)} events"
    if note.occurrences > 1:
        counts += f"; {note.occurrences} occurrences"
    out.append(("Count", counts))
    span = (a.last_seen - a.first_seen).total_seconds()
    out.append(("Window", f"{_utc(a.first_seen)} → {_utc(a.last_seen)} ({duration(span)})"))
    return out[:10]


def slack_message(note: Notification) -> dict[str, Any]:
    """The JSON body for a Slack incoming webhook."""
    a = note.alert
    header = f"{_PREFIX[note.kind]}{a.title}"
    context = f"alert `{a.alert_id}` · {_utc(a.last_seen)}"
    if note.kind == "realert":
        context += f" · re-alert {note.sequence}"
    blocks: list[dict[str, Any]] = [
        {"type": "header",
         "text": {"type": "plain_text", "text": _cut(header, _HEADER_MAX), "emoji": True}},
        {"type": "section", "fields": [
            {"type": "mrkdwn", "text": _cut(f"*{name}*\n{_esc(value)}", _FIELD_MAX)}
            for name, value in _fields(note)
        ]},
        {"type": "section",
         "text": {"type": "mrkdwn", "text": _cut(_esc(a.explanation), _TEXT_MAX)}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _cut(context, _TEXT_MAX)}]},
    ]
    fallback = f"{_EMOJI.get(a.severity, '')} [{a.severity}] {header}".strip()
    return {"text": _cut(fallback, _TEXT_MAX), "blocks": blocks[:MAX_BLOCKS]}
