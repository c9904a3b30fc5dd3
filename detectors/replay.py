"""Offline replay: the stream's detector code over an NDJSON history, in event-time order.

Each line is parsed with :func:`~detectors.events.parse_event`, exactly as the ingest agent
does; a line that is not a valid event is reported (line number and reason) and skipped,
never fatal. Blank lines are ignored. Findings carry the same ``alert_id`` the stream gives
them, because the :class:`~detectors.engine.Engine` is the same.

Memory. Event-time order needs a sort, and a sort needs every event in memory: replay keeps
the parsed events (about 1-2 KiB each as pydantic objects) and refuses more than
``max_events`` (default :data:`MAX_SORTED_EVENTS`, a few GiB at most) with a
:class:`ReplayError`. A history that is already in event-time order (what an archive or a
Kafka export of one partition usually is) can be replayed with ``assume_sorted=True``: it
then streams in constant memory beyond the detectors' own per-key state, and events that go
back in time are processed where they are, as a live worker would, and counted in
``ReplaySummary.out_of_order`` so a wrong assumption is visible.

Garbage collection. A sorted replay holds the whole history as long-lived objects, and
CPython's cyclic collector would rescan all of them on every full pass while the detectors
run: measured at 100,000 events, half the replay time. Parsing makes no reference cycles,
so the collector is paused while the history loads, the loaded objects are frozen
(``gc.freeze``: never scanned) while the detectors run, and unfrozen when the replay ends.
``gc.freeze`` is process-wide: do not run a sorted replay inside a process that relies on
its own frozen objects staying frozen.

>>> lines = [
...     '{"event_id": "b", "timestamp": "2026-03-02T09:00:05Z", "user": "ann",'
...     ' "action": "login", "outcome": "failure", "source_ip": "203.0.113.9"}',
...     'not json',
...     '{"event_id": "a", "timestamp": "2026-03-02T09:00:00Z", "user": "ann",'
...     ' "action": "login", "outcome": "failure", "source_ip": "203.0.113.9"}',
... ]
>>> from detectors.config import Config
>>> from detectors.engine import Engine
>>> cfg = Config.model_validate({"detectors": {"failed_login_burst": {"threshold": 2}}})
>>> result = replay(lines, Engine(cfg))
>>> [(f.detector, f.event_ids) for f in result.findings]
[('failed_login_burst', ('a', 'b'))]
>>> result.invalid[0].line, result.summary.events_read, result.summary.invalid
(2, 3, 1)
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from itertools import islice
from operator import attrgetter

from detectors.engine import Engine
from detectors.errors import AccessGuardError, EventError
from detectors.events import AccessEvent, parse_event
from detectors.findings import Finding

__all__ = [
    "MAX_KEPT_INVALID",
    "MAX_SORTED_EVENTS",
    "InvalidLine",
    "ReplayError",
    "ReplayResult",
    "ReplaySummary",
    "read_events",
    "read_history",
    "replay",
    "replay_iter",
    "run_engine",
]

#: Events an in-memory sort accepts by default (pass ``assume_sorted`` to stream instead).
MAX_SORTED_EVENTS = 5_000_000
#: Invalid lines a :class:`ReplayResult` keeps (all are counted and passed to ``on_invalid``).
MAX_KEPT_INVALID = 1000


class ReplayError(AccessGuardError):
    """Replay cannot go on (e.g. too many events to sort in memory)."""


@dataclass(frozen=True, slots=True)
class InvalidLine:
    """A line that is not a valid v1 event: 1-based line number and a one-line reason."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class ReplaySummary:
    """What a replay read and found."""

    events_read: int = 0  # non-blank lines
    invalid: int = 0
    out_of_order: int = 0  # only counted with assume_sorted: events older than one before
    per_detector: dict[str, int] = field(default_factory=dict)

    @property
    def valid(self) -> int:
        return self.events_read - self.invalid

    @property
    def findings(self) -> int:
        return sum(self.per_detector.values())


@dataclass
class ReplayResult:
    findings: list[Finding]
    invalid: list[InvalidLine]  # the first MAX_KEPT_INVALID; summary.invalid counts them all
    summary: ReplaySummary


def read_events(
    lines: Iterable[bytes | str],
    summary: ReplaySummary,
    on_invalid: Callable[[InvalidLine], None] | None = None,
) -> Iterator[AccessEvent]:
    """Parse NDJSON lines lazily; count them in ``summary``; report and skip invalid ones."""
    for n, raw in enumerate(lines, 1):
        if not raw or raw.isspace():
            continue
        summary.events_read += 1
        try:
            yield parse_event(raw)
        except EventError as exc:
            summary.invalid += 1
            if on_invalid is not None:
                on_invalid(InvalidLine(n, exc.reason))


def _by_event_time(events: Iterator[AccessEvent], max_events: int) -> list[AccessEvent]:
    kept = list(islice(events, max_events + 1))
    if len(kept) > max_events:
        raise ReplayError(
            f"more than {max_events} events to sort in memory; replay a history that is "
            "already in event-time order with --assume-sorted, or split it by time"
        )
    kept.sort(key=_ts)  # stable: equal timestamps keep their input order
    return kept


_ts = attrgetter("ts")


def _count_out_of_order(events: Iterator[AccessEvent], summary: ReplaySummary
                        ) -> Iterator[AccessEvent]:
    newest = float("-inf")
    for ev in events:
        ts = ev.ts
        if ts < newest:
            summary.out_of_order += 1
        else:
            newest = ts
        yield ev


def read_history(
    lines: Iterable[bytes | str],
    summary: ReplaySummary,
    *,
    assume_sorted: bool = False,
    max_events: int = MAX_SORTED_EVENTS,
    on_invalid: Callable[[InvalidLine], None] | None = None,
) -> Iterator[AccessEvent]:
    """The valid events of ``lines`` in the order replay runs them (lazily: nothing is read
    before the first event is asked for).

    Sorted by event time (stable: ties keep input order), which reads everything first;
    with ``assume_sorted`` in input order, counting events that go back in time.
    """
    events = read_events(lines, summary, on_invalid)
    if assume_sorted:
        return _count_out_of_order(events, summary)
    return _sorted_history(events, max_events)


def _sorted_history(events: Iterator[AccessEvent], max_events: int) -> Iterator[AccessEvent]:
    enabled = gc.isenabled()
    gc.disable()  # see "Garbage collection" above
    try:
        kept = _by_event_time(events, max_events)
        gc.freeze()
    finally:
        if enabled:
            gc.enable()
    try:
        yield from kept
    finally:
        gc.unfreeze()


def run_engine(engine: Engine, events: Iterable[AccessEvent], summary: ReplaySummary
               ) -> Iterator[Finding]:
    """``engine.run`` with fresh in-memory state, counting findings per detector."""
    per_detector = summary.per_detector
    for name in engine.detector_names:
        per_detector.setdefault(name, 0)
    for finding in engine.run(events):
        per_detector[finding.detector] = per_detector.get(finding.detector, 0) + 1
        yield finding


def replay_iter(
    lines: Iterable[bytes | str],
    engine: Engine,
    summary: ReplaySummary,
    *,
    assume_sorted: bool = False,
    max_events: int = MAX_SORTED_EVENTS,
    on_invalid: Callable[[InvalidLine], None] | None = None,
) -> Iterator[Finding]:
    """Findings as they are made; ``summary`` is complete once the iterator is exhausted.

    With ``assume_sorted`` the input streams through (findings come while reading);
    otherwise every event is read and sorted first.
    """
    events = read_history(lines, summary, assume_sorted=assume_sorted, max_events=max_events,
                          on_invalid=on_invalid)
    return run_engine(engine, events, summary)


def replay(
    lines: Iterable[bytes | str],
    engine: Engine,
    *,
    assume_sorted: bool = False,
    max_events: int = MAX_SORTED_EVENTS,
    on_invalid: Callable[[InvalidLine], None] | None = None,
) -> ReplayResult:
    """Replay ``lines`` through ``engine`` and collect findings, invalid lines and counts."""
    summary = ReplaySummary()
    invalid: list[InvalidLine] = []

    def note(bad: InvalidLine) -> None:
        if len(invalid) < MAX_KEPT_INVALID:
            invalid.append(bad)
        if on_invalid is not None:
            on_invalid(bad)

    findings = list(replay_iter(lines, engine, summary, assume_sorted=assume_sorted,
                                max_events=max_events, on_invalid=note))
    return ReplayResult(findings=findings, invalid=invalid, summary=summary)
