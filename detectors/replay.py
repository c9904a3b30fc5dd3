"""Offline replay: the stream's detector code over an NDJSON history, in event-time order.

Each line is parsed with :func:`~detectors.events.parse_event`, exactly as the ingest agent
does; a line that is not a valid event is reported (line number and reason) and skipped,
never fatal. Blank lines are ignored. Findings carry the same ``alert_id`` the stream gives
them, because the :class:`~detectors.engine.Engine` is the same.

Memory. Event-time order needs a sort, and a sort needs every event in memory: replay keeps
the parsed events (about 0.8 KiB each with nine fields given, sharing their sets of given
fields: :func:`~detectors.events.compact`) and refuses more than
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

Processes. A sorted replay can split the detectors' work across ``workers`` processes:
the history is read, parsed and sorted once, then each process (forked: the parsed events
are shared, not copied or sent) runs the engine over all of it for its share of the keys
(:class:`~detectors.engine.KeyShard`), and the findings are merged back into the order one
process gives. Per-key state depends only on the key's own events, so the findings are the
same, in the same order; an engine with a shared model (the behavioural model) runs in one
process. Parsing stays in one process (pickling a parsed event and loading it back costs
more than parsing it), so it bounds the gain. On the 2-vCPU development machine the gain is
small: each process writes reference counts on pages it shares with the others after the
fork, and the machine copies each such page slowly, so two processes each took nearly as
long over half the keys as one over all of them (1.0-1.7x as fast in all, round by round:
see the README). Where a page fault is cheap, the detectors' share divides by the
processes.
Forking needs a process with no other threads (a fork copies one thread and whatever locks
the others held); elsewhere replay runs in one process. :attr:`ReplaySummary.workers` says
how many ran.

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
import heapq
import multiprocessing
import os
import signal
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from itertools import islice
from multiprocessing.connection import Connection
from multiprocessing.process import BaseProcess
from operator import attrgetter, itemgetter
from typing import Literal

from detectors.engine import Engine, KeyShard
from detectors.errors import AccessGuardError, EventError
from detectors.events import AccessEvent, compact, parse_event
from detectors.findings import Finding

__all__ = [
    "EVENTS_PER_WORKER",
    "MAX_KEPT_INVALID",
    "MAX_SORTED_EVENTS",
    "MAX_WORKERS",
    "InvalidLine",
    "ReplayError",
    "ReplayResult",
    "ReplaySummary",
    "read_events",
    "read_history",
    "replay",
    "replay_iter",
    "replay_many",
    "run_engine",
]

#: Events an in-memory sort accepts by default (pass ``assume_sorted`` to stream instead).
MAX_SORTED_EVENTS = 5_000_000
#: Invalid lines a :class:`ReplayResult` keeps (all are counted and passed to ``on_invalid``).
MAX_KEPT_INVALID = 1000
#: Most processes ``workers="auto"`` starts (each runs the engine over the whole history).
MAX_WORKERS = 8
#: ``workers="auto"`` starts one process per this many events (forking costs a few ms).
EVENTS_PER_WORKER = 20_000

Workers = int | Literal["auto"]


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
    workers: int = 1  # processes the detectors ran in
    #: Why a replay asked for several processes ran in one (None when it did not).
    one_process_because: str | None = None

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
    kept = list(islice(map(compact, events), max_events + 1))
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
    kept = _load_frozen(events, max_events)
    try:
        yield from kept
    finally:
        gc.unfreeze()


def _load_frozen(events: Iterator[AccessEvent], max_events: int) -> list[AccessEvent]:
    """The events sorted, loaded with the collector paused and then frozen (see "Garbage
    collection" above): the caller calls ``gc.unfreeze()`` when done with them."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        kept = _by_event_time(events, max_events)
        gc.freeze()
    finally:
        if enabled:
            gc.enable()
    return kept


def run_engine(engine: Engine, events: Iterable[AccessEvent], summary: ReplaySummary
               ) -> Iterator[Finding]:
    """``engine.run`` with fresh in-memory state, counting findings per detector."""
    return _counted(engine, summary, engine.run(events))


def _counted(engine: Engine, summary: ReplaySummary, findings: Iterable[Finding]
             ) -> Iterator[Finding]:
    per_detector = summary.per_detector
    for name in engine.detector_names:
        per_detector.setdefault(name, 0)
    for finding in findings:
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
    workers: Workers = 1,
) -> Iterator[Finding]:
    """Findings as they are made; ``summary`` is complete once the iterator is exhausted.

    With ``assume_sorted`` the input streams through (findings come while reading, in one
    process); otherwise every event is read and sorted first, and the detectors may run in
    ``workers`` processes (an int, or ``"auto"``: see :func:`replay_many`).
    """
    if workers != 1 and not assume_sorted:
        return _counted(engine, summary, _split(lines, engine, summary, max_events,
                                                on_invalid, workers))
    if workers != 1:
        summary.one_process_because = _STREAMED
    events = read_history(lines, summary, assume_sorted=assume_sorted, max_events=max_events,
                          on_invalid=on_invalid)
    return run_engine(engine, events, summary)


def _split(lines: Iterable[bytes | str], engine: Engine, summary: ReplaySummary,
           max_events: int, on_invalid: Callable[[InvalidLine], None] | None,
           workers: Workers) -> Iterator[Finding]:
    # A generator, as engine.run: nothing is read before the first finding is asked for.
    yield from replay_many(lines, [engine], summary, max_events=max_events,
                           on_invalid=on_invalid, workers=workers)[0]


def replay(
    lines: Iterable[bytes | str],
    engine: Engine,
    *,
    assume_sorted: bool = False,
    max_events: int = MAX_SORTED_EVENTS,
    on_invalid: Callable[[InvalidLine], None] | None = None,
    workers: Workers = 1,
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
                                max_events=max_events, on_invalid=note, workers=workers))
    return ReplayResult(findings=findings, invalid=invalid, summary=summary)


# --- several processes -------------------------------------------------------------------


def replay_many(
    lines: Iterable[bytes | str],
    engines: Sequence[Engine],
    summary: ReplaySummary,
    *,
    assume_sorted: bool = False,
    max_events: int = MAX_SORTED_EVENTS,
    on_invalid: Callable[[InvalidLine], None] | None = None,
    workers: Workers = 1,
) -> list[list[Finding]]:
    """Each engine's findings over the same history, read, parsed and sorted once: what
    :func:`run_engine` gives over :func:`read_history`'s events, in the same order.

    ``workers`` processes split the keys between them (see "Processes" above). ``"auto"``
    starts one per :data:`EVENTS_PER_WORKER` events, at most one per CPU this process may
    run on and at most :data:`MAX_WORKERS`. ``summary`` counts the lines and the processes
    that ran (``per_detector`` is left to the caller: there may be several engines). With
    ``assume_sorted`` the events run in input order, in one process.
    """
    if workers != "auto" and workers < 1:
        raise ValueError(f"workers must be at least 1 or 'auto', not {workers!r}")
    if assume_sorted:
        if workers != 1:
            summary.one_process_because = _STREAMED
        history = list(map(compact, read_history(lines, summary, assume_sorted=True,
                                                  on_invalid=on_invalid)))
        return [list(engine.run(history)) for engine in engines]
    history = _load_frozen(read_events(lines, summary, on_invalid), max_events)
    try:
        count, summary.one_process_because = _worker_count(workers, len(history), engines)
        summary.workers = count
        if count == 1:
            return [list(engine.run(history)) for engine in engines]
        return _run_shards(engines, history, count)
    finally:
        gc.unfreeze()


_STREAMED = "a history in event-time order (assume_sorted) streams through one process"


def _worker_count(workers: Workers, events: int, engines: Sequence[Engine]
                  ) -> tuple[int, str | None]:
    """(processes to run, why one when more were asked for or would have been chosen)."""
    count = (min(_usable_cpus(), MAX_WORKERS, max(1, events // EVENTS_PER_WORKER))
             if workers == "auto" else workers)
    if count == 1:
        return 1, None
    if any(engine.shares_state_across_keys for engine in engines):
        return 1, ("the behavioural model is on, and it learns from every user's events in "
                   "order (disable behaviour_anomaly to split the rules by key)")
    if threading.active_count() > 1:
        return 1, "this process runs other threads, and only a single-threaded one can fork"
    if "fork" not in multiprocessing.get_all_start_methods():
        return 1, "this platform cannot fork"
    return count, None


def _usable_cpus() -> int:
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        return os.cpu_count() or 1


# A finding's place in one process's output: (position of the event that made it in the
# sorted history, index of its key kind in the engine's key_kinds). One process visits an
# event's kinds in key_kinds order and owns each (kind, key) alone, so merging the
# processes' outputs by place gives one process's order.
_Placed = tuple[tuple[int, int], Finding]


def _run_shards(engines: Sequence[Engine], history: list[AccessEvent], count: int
                ) -> list[list[Finding]]:
    ctx = multiprocessing.get_context("fork")
    for stream in (sys.stdout, sys.stderr):  # a child would write out what is buffered again
        stream.flush()
    children: list[tuple[BaseProcess, Connection]] = []
    try:
        for index in range(1, count):
            receive, send = ctx.Pipe(duplex=False)
            child = ctx.Process(target=_shard_child, daemon=True,
                                args=(send, engines, history, KeyShard(index, count)))
            child.start()
            send.close()
            children.append((child, receive))
        parts = [_run_shard(engines, history, KeyShard(0, count))]
        for index, (proc, conn) in enumerate(children, 1):
            try:
                ok, payload = conn.recv()
            except EOFError:
                proc.join()
                raise ReplayError(f"replay process {index} of {count} died "
                                  f"(exit code {proc.exitcode})") from None
            if not ok:
                raise ReplayError(f"replay process {index} of {count} failed: {payload}")
            parts.append(payload)
    finally:
        for proc, conn in children:
            conn.close()
            if proc.is_alive():
                proc.terminate()
            proc.join()
    return [[finding for _, finding in heapq.merge(*(part[i] for part in parts),
                                                     key=itemgetter(0))]
            for i in range(len(engines))]


def _run_shard(engines: Sequence[Engine], history: list[AccessEvent], shard: KeyShard
               ) -> list[list[_Placed]]:
    out = []
    for engine in engines:
        kind_index = {kind: i for i, kind in enumerate(engine.key_kinds)}
        at = -1

        def tracked() -> Iterator[AccessEvent]:
            nonlocal at
            for at, event in enumerate(history):  # noqa: B007 (read by the caller's loop)
                yield event

        # engine.run yields an event's findings before it takes the next event, so `at`
        # is the position of the event that made each finding.
        out.append([((at, kind_index[f.key_kind]), f) for f in engine.run(tracked(), shard)])
    return out


def _shard_child(send: Connection, engines: Sequence[Engine], history: list[AccessEvent],
                 shard: KeyShard) -> None:
    # Ctrl-C reaches the whole process group: the parent stops, and terminates its children.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        result: tuple[bool, object] = (True, _run_shard(engines, history, shard))
    except BaseException as exc:  # reported to the parent, which raises
        result = (False, f"{type(exc).__name__}: {exc}")
    try:
        send.send(result)
    except OSError:  # the parent is gone, or gave up on us: nobody to tell
        pass
    finally:
        send.close()
