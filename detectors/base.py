"""The detector protocol: ``step(state, event) -> (state, findings)``.

A detector is pure: it reads time only from the event, keeps everything it remembers in the
per-key ``state`` it is handed (JSON-compatible: dicts, lists, str, numbers, bools, None) and
returns the state to keep (``None`` to forget the key) with any findings.

For speed ``step`` may update ``state`` in place and return it: callers hand each state to one
``step`` at a time and keep only what it returns. It never mutates the event.

Key kinds. A detector keeps state per ``key_kind`` (``user``, ``source_ip`` or ``credential``).
One that watches the same pattern under several keys lists them in ``key_kinds`` (default:
just ``key_kind``); the engine then builds one instance per kind, passing ``kind=``, and each
instance reads ``self.kind`` to know which key it runs for. Its findings carry that kind, so
their alert ids differ per kind.

Context. Settings that are not a detector's own (the sensitive environments, the offline geo
lookup) reach it through ``context=``, a :class:`DetectorContext` the engine builds once. A
detector that overrides ``__init__`` forwards ``**kwargs`` to ``super().__init__``.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field

from detectors.events import AccessEvent
from detectors.findings import Finding, KeyKind, Severity
from detectors.geo import GeoLookup, NullGeoLookup

__all__ = ["Detector", "DetectorConfig", "DetectorContext", "State"]

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


@dataclass(frozen=True)
class DetectorContext:
    """Global settings and injected services a detector may need beyond its own section."""

    sensitive_environments: tuple[str, ...] = ("production",)
    geo: GeoLookup = field(default_factory=NullGeoLookup)


C = TypeVar("C", bound=DetectorConfig)


class Detector(ABC, Generic[C]):
    """Base of every detector. Subclasses set ``name``, ``key_kind`` and ``config_model``, and
    ``key_kinds`` when they keep state under more than one kind of key.
    """

    name: ClassVar[str]
    key_kind: ClassVar[KeyKind]
    key_kinds: ClassVar[tuple[KeyKind, ...]] = ()
    config_model: ClassVar[type[DetectorConfig]]
    #: The actions and outcomes of every event the detector can accept (None: any), for
    #: the engine's dispatch index and the default :meth:`admits`. A promise, checked by the
    #: contract tests.
    accepts_actions: ClassVar[frozenset[str] | None] = None
    accepts_outcomes: ClassVar[frozenset[str] | None] = None

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if "key_kind" in vars(cls) and "key_kinds" not in vars(cls):
            cls.key_kinds = (cls.key_kind,)

    def __init__(
        self,
        config: C,
        *,
        allowed_lateness_seconds: float = 300.0,
        context: DetectorContext | None = None,
        kind: KeyKind | None = None,
    ) -> None:
        self.config = config
        self.allowed_lateness_seconds = allowed_lateness_seconds
        self.context = context if context is not None else DetectorContext()
        self.kind: KeyKind = kind if kind is not None else self.key_kinds[0]
        if self.kind not in self.key_kinds:
            raise ValueError(f"{self.name} keeps no state per {self.kind}")

    def admits(self, action: str, outcome: str) -> bool:
        """The part of :meth:`accepts` that depends only on (action, outcome).

        The engine asks it once per pair and then, for a detector that does not override
        :meth:`accepts`, calls ``step`` without asking anything per event. Default: the
        declared ``accepts_actions`` and ``accepts_outcomes``.
        """
        actions, outcomes = self.accepts_actions, self.accepts_outcomes
        return ((actions is None or action in actions)
                and (outcomes is None or outcome in outcomes))

    def needs_state(self, action: str, outcome: str) -> bool:
        """True when, for events of this (action, outcome), ``step`` with no state of its
        own finds nothing and keeps nothing: the engine then skips the call while the key
        has no state for this detector (most keys, most of the time; the event still counts
        as seen for duplicate detection). Default: False."""
        return False

    def accepts(self, event: AccessEvent) -> bool:
        """Cheap pre-filter: events for which ``step`` can matter. Default: :meth:`admits`.

        Override it only for conditions on more than the action and outcome (and keep
        :meth:`admits` true for every event it takes)."""
        return self.admits(event.action, event.outcome)

    @abstractmethod
    def step(self, state: State | None, event: AccessEvent) -> tuple[State | None, list[Finding]]:
        """Fold one event into this key's state; return the state to keep and any findings."""
