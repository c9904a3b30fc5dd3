"""What a detector says: a :class:`Finding`, with a stable incident id."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

__all__ = ["SEVERITIES", "Finding", "KeyKind", "Severity", "utc"]

Severity = Literal["info", "low", "medium", "high", "critical"]
KeyKind = Literal["user", "source_ip", "credential"]
SEVERITIES: tuple[Severity, ...] = ("info", "low", "medium", "high", "critical")


def utc(ts: float) -> datetime:
    """POSIX seconds to an aware UTC datetime."""
    return datetime.fromtimestamp(ts, UTC)


@dataclass(frozen=True, slots=True)
class Finding:
    """One detection: what fired, about whom, why, and on which events.

    ``incident`` distinguishes incidents of the same detector and key (here: the id of the
    event that opened it), so re-processing the same events yields the same ``alert_id``.
    """

    detector: str
    severity: Severity
    key_kind: KeyKind
    key: str
    title: str
    explanation: str
    incident: str
    first_seen: float
    last_seen: float
    event_ids: tuple[str, ...]
    user: str | None = None
    source_ips: tuple[str, ...] = ()
    evidence: dict[str, Any] = field(default_factory=dict)

    @property
    def alert_id(self) -> str:
        """Stable id: same detector, key and incident give the same id in stream and replay."""
        raw = f"{self.detector}\x1f{self.key_kind}\x1f{self.key}\x1f{self.incident}".encode()
        return hashlib.sha256(raw).hexdigest()[:32]
