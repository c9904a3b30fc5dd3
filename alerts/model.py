"""The alert: a finding made deliverable, with the evidence an on-call engineer needs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from detectors.findings import Finding, KeyKind, Severity, utc

__all__ = ["Alert", "Notification", "NotificationKind"]


class Alert(BaseModel):
    """What goes on the alerts topic and (rendered) to destinations.

    ``alert_id`` is stable for an incident and travels as the idempotency key.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    schema_version: Literal[1] = 1
    alert_id: str
    detector: str
    severity: Severity
    key_kind: KeyKind
    key: str
    title: str
    explanation: str
    user: str | None = None
    source_ips: tuple[str, ...] = ()
    environment: str | None = None
    labels: dict[str, str] = {}
    first_seen: datetime
    last_seen: datetime
    event_ids: tuple[str, ...]
    evidence: dict[str, Any] = {}

    @classmethod
    def from_finding(cls, finding: Finding) -> Alert:
        return cls(
            alert_id=finding.alert_id,
            detector=finding.detector,
            severity=finding.severity,
            key_kind=finding.key_kind,
            key=finding.key,
            title=finding.title,
            explanation=finding.explanation,
            user=finding.user,
            source_ips=finding.source_ips,
            environment=_str_or_none(finding.evidence.get("environment")),
            first_seen=utc(finding.first_seen),
            last_seen=utc(finding.last_seen),
            event_ids=finding.event_ids,
            evidence=finding.evidence,
        )

    def label_set(self) -> dict[str, str]:
        """What routes, silences and inhibition rules match on: built-in labels + ``labels``.

        Built-ins: ``detector``, ``severity``, ``key_kind``, ``key``, and ``user`` and
        ``environment`` when known. Explicit ``labels`` cannot override the built-ins.
        """
        out = dict(self.labels)
        out.update(detector=self.detector, severity=self.severity, key_kind=self.key_kind,
                   key=self.key)
        if self.user is not None:
            out["user"] = self.user
        if self.environment is not None:
            out["environment"] = self.environment
        return out

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> Alert:
        return cls.model_validate_json(raw)


def _str_or_none(value: object) -> str | None:
    return value if isinstance(value, str) else None


NotificationKind = Literal["trigger", "realert", "resolve"]


class Notification(BaseModel):
    """One message about an incident to its destinations: what renderers render.

    ``alert.alert_id`` is the incident's id for every message about it (PagerDuty's dedup
    key). ``idempotency_key`` is the alert id for the first page and distinct for each
    re-alert and the resolve, so receivers that deduplicate by it still see those.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: NotificationKind = "trigger"
    alert: Alert
    occurrences: int = 1
    sequence: int = 0

    @property
    def idempotency_key(self) -> str:
        if self.kind == "trigger":
            return self.alert.alert_id
        return f"{self.alert.alert_id}.{self.kind}.{self.sequence}"

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()
