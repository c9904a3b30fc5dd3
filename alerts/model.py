"""The alert: a finding made deliverable, with the evidence an on-call engineer needs."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from detectors.findings import Finding, KeyKind, Severity, utc

__all__ = ["Alert"]


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
            first_seen=utc(finding.first_seen),
            last_seen=utc(finding.last_seen),
            event_ids=finding.event_ids,
            evidence=finding.evidence,
        )

    def to_json(self) -> bytes:
        return self.model_dump_json().encode()

    @classmethod
    def from_json(cls, raw: bytes | str) -> Alert:
        return cls.model_validate_json(raw)
