"""The detector protocol: ``step(state, event) -> (state, findings)``.

A detector is pure: it reads time only from the event, keeps everything it remembers in the
per-key ``state`` it is handed (JSON-compatible: dicts, lists, str, numbers, bools, None) and
returns the state to keep (``None`` to forget the key) with any findings.

For speed ``step`` may update ``state`` in place and return it: callers hand each state to one
``step`` at a time and keep only what it returns. It never mutates the event.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from detectors.events import AccessEvent
from detectors.findings import Finding, KeyKind, Severity

__all__ = ["Detector", "DetectorConfig", "State"]

State = Any  # JSON-compatible value owned by one detector for one key


class DetectorConfig(BaseModel):
    """Settings every detector has; each detector extends it with its tunables."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = True
    severity: Severity = "medium"
    # Fusion with the behavioural model (applied by the Engine to user-keyed findings; see
    # docs/ml.md). Both are off by default.
    min_anomaly_score: float | None = Field(
        default=None, ge=0.0, le=1.0,
        description="fire only if the ML anomaly score of the triggering event is at least this",
    )
    escalate_on_anomaly: bool = Field(
        default=False,
        description="raise severity one level when the ML model also flags the event",
    )


C = TypeVar("C", bound=DetectorConfig)


class Detector(ABC, Generic[C]):
    """Base of every detector. Subclasses set ``name``, ``key_kind`` and ``config_model``."""

    name: ClassVar[str]
    key_kind: ClassVar[KeyKind]
    config_model: ClassVar[type[DetectorConfig]]

    def __init__(self, config: C, *, allowed_lateness_seconds: float = 300.0) -> None:
        self.config = config
        self.allowed_lateness_seconds = allowed_lateness_seconds

    def accepts(self, event: AccessEvent) -> bool:
        """Cheap pre-filter: events for which ``step`` can matter. Default: all."""
        return True

    @abstractmethod
    def step(self, state: State | None, event: AccessEvent) -> tuple[State | None, list[Finding]]:
        """Fold one event into this key's state; return the state to keep and any findings."""
