"""Offline replay: the stream's detector code over an NDJSON history, in event-time order.

Each line is parsed with :func:`~detectors.events.parse_event`, exactly as the ingest agent
does; a line that is not a valid event is reported (line number and reason) and skipped,
never fatal. Blank lines are ignored. Findings carry the same ``alert_id`` the stream gives
them, because the :class:`~detectors.engine.Engine` is the same.

Memory. Event-time order needs a sort, and a sort needs every event in memory: replay keeps
the parsed events (about 0.8 KiB each with nine fields given, sharing their sets of given
fields: :func:`~detectors.events.compact`; split across processes, the lines as read too,
and each process only the events it needs) and refuses more than ``max_events`` (default
:data:`MAX_SORTED_EVENTS`, a few GiB at most) with a :class:`ReplayError`. A history that
is already in event-time order (what an archive or a Kafka export of one partition usually
is) can be replayed with ``assume_sorted=True``: it then streams in constant memory beyond
the detectors' own per-key state, and events that go back in time are processed where they
are, as a live worker would, and counted in ``ReplaySummary.out_of_order`` so a wrong
assumption is visible.

Garbage collection. A sorted replay holds the whole history as long-lived objects, and
CPython's cyclic collector would rescan all of them on every full pass while the detectors
run: measured at 100,000 events, half the replay time. Parsing makes no reference cycles,
so the collector is paused while the history loads, the loaded objects are frozen
(``gc.freeze``: never scanned) while the detectors run, and unfrozen when the replay ends.
``gc.freeze`` is process-wide: do not run a sorted replay inside a process that relies on
its own frozen objects staying frozen.

Processes. A sorted replay can split its work across ``workers`` processes, by key: each
(key kind, key) belongs to one process (:class:`~detectors.engine.KeyShard`), and per-key
state depends only on that key's events. The lines are read once; then the processes
(forked: the lines are shared, not copied or sent)

1. route a slice of the lines each: which processes need each line, read from its key
   fields alone (:class:`~detectors.sharding.LineRouter`), into a mapping they share;
2. each parse only the lines they need (about half of them with two processes, since an
   event matters to the owners of its user and, for the few detectors keyed otherwise, of
   its source IP or credential), sort them by event time, and run the engine over the
   keys they own;
3. send back their findings, merged into the order one process gives (by event time, line
   number and key kind), and their invalid lines (each reported by one process).

The findings are the same, in the same order, as in one process; an engine with a shared
model (the behavioural model) runs in one process. Forking needs a process with no other
threads (a fork copies one thread and whatever locks the others held); elsewhere replay
runs in one process. :attr:`ReplaySummary.workers` says how many ran.

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
import mmap
import multiprocessing
import os
import signal
import sys
import threading
import time
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
from detectors.sharding import LineRouter, reporter

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
#: Most processes a replay runs in (a line's route is one byte: a bit per process).
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
    """Each engine's findings over the same history, read once: what
    :func:`run_engine` gives over :func:`read_history`'s events, in the same order.

    ``workers`` processes split the keys between them (see "Processes" above). ``"auto"``
    starts one per :data:`EVENTS_PER_WORKER` events, at most one per CPU this process may
    run on and at most :data:`MAX_WORKERS`. ``summary`` counts the lines and the processes
    that ran (``per_detector`` is left to the caller: there may be several engines). With
    ``assume_sorted`` the events run in input order, in one process.
    """
    if workers != "auto" and not 1 <= workers <= MAX_WORKERS:
        raise ValueError(f"workers must be 1 to {MAX_WORKERS} or 'auto', not {workers!r}")
    if assume_sorted:
        if workers != 1:
            summary.one_process_because = _STREAMED
        history = list(map(compact, read_history(lines, summary, assume_sorted=True,
                                                  on_invalid=on_invalid)))
        return [list(engine.run(history)) for engine in engines]
    count = 1
    if workers != 1:
        lines = held = lines if isinstance(lines, list) else list(lines)
        count, summary.one_process_because = _worker_count(workers, len(held), engines)
        if count > 1 and len(held) > max_events and sum(
                1 for x in held if x and not x.isspace()) > max_events:
            count = 1  # one process says which it is, if more than max_events are valid
    summary.workers = count
    if count > 1:
        return _run_parts(engines, held, count, summary, on_invalid)
    history = _load_frozen(read_events(lines, summary, on_invalid), max_events)
    try:
        return [list(engine.run(history)) for engine in engines]
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


# A finding's place in one process's output: (time of the event that made it, its line
# number, index of its key kind in the engine's key_kinds). One process visits events by
# time, ties in line order, and an event's kinds in key_kinds order; each (kind, key) has
# exactly one owner, so merging the processes' outputs by place gives one process's order.
_Placed = tuple[tuple[float, int, int], Finding]
# What a process sends back: per engine, its placed findings; the invalid lines it reports;
# how many lines were not blank.
_Part = tuple[list[list[_Placed]], list[InvalidLine], int]
# How often a process that has routed its lines looks whether the others have (seconds).
_POLL = 0.0005


class _Routes:
    """The processes' routes, shared (an anonymous shared mapping, made before the fork):
    one byte per line, the mask of the processes that need it (0 for a blank line), then one
    byte per process, set once it has routed its slice of the lines."""

    def __init__(self, lines: int, count: int) -> None:
        self.lines, self.count = lines, count
        self.shared = mmap.mmap(-1, lines + count)

    def slice_of(self, index: int) -> range:
        return range(self.lines * index // self.count, self.lines * (index + 1) // self.count)

    def done(self, index: int) -> None:
        self.shared[self.lines + index] = 1

    def wait(self, others_alive: Callable[[], bool]) -> bytes | None:
        """Every line's mask once all processes have routed theirs; None if, before that,
        ``others_alive`` says a process it waits on is gone."""
        flags = slice(self.lines, self.lines + self.count)
        while self.shared[flags].count(1) < self.count:
            if not others_alive() and self.shared[flags].count(1) < self.count:
                return None
            time.sleep(_POLL)
        return self.shared[:self.lines]


def _run_parts(engines: Sequence[Engine], lines: list[bytes | str], count: int,
               summary: ReplaySummary, on_invalid: Callable[[InvalidLine], None] | None
               ) -> list[list[Finding]]:
    ctx = multiprocessing.get_context("fork")
    routes = _Routes(len(lines), count)
    for stream in (sys.stdout, sys.stderr):  # a child would write out what is buffered again
        stream.flush()
    children: list[tuple[BaseProcess, Connection]] = []
    try:
        for index in range(1, count):
            receive, send = ctx.Pipe(duplex=False)
            child = ctx.Process(target=_part_child, daemon=True, args=(
                send, engines, lines, routes, KeyShard(index, count), os.getpid()))
            child.start()
            send.close()
            children.append((child, receive))
        own = _run_part(engines, lines, routes, KeyShard(0, count),
                        lambda: all(proc.exitcode is None for proc, _ in children))
        parts = [own] if own is not None else []
        for index, (proc, conn) in enumerate(children, 1):
            if own is None and proc.exitcode is None:
                continue  # waiting on the one that failed: see below
            try:
                ok, payload = conn.recv()
            except EOFError:
                proc.join()
                raise ReplayError(f"replay process {index} of {count} died "
                                  f"(exit code {proc.exitcode})") from None
            if not ok:
                raise ReplayError(f"replay process {index} of {count} failed: {payload}")
            parts.append(payload)
        if own is None:  # not reached: a process that is gone raised above
            raise ReplayError("a replay process stopped before routing its lines")
    finally:
        gc.unfreeze()
        for proc, conn in children:
            conn.close()
            if proc.is_alive():
                proc.terminate()
            proc.join()
        routes.shared.close()
    summary.events_read += parts[0][2]
    for bad in heapq.merge(*(part[1] for part in parts), key=attrgetter("line")):
        summary.invalid += 1
        if on_invalid is not None:
            on_invalid(bad)
    return [[finding for _, finding in heapq.merge(*(part[0][i] for part in parts),
                                                     key=itemgetter(0))]
            for i in range(len(engines))]


def _run_part(engines: Sequence[Engine], lines: list[bytes | str], routes: _Routes,
              shard: KeyShard, others_alive: Callable[[], bool]) -> _Part | None:
    """One process's share: its slice of the lines routed
    (:class:`~detectors.sharding.LineRouter`), then, once every process has routed its
    slice, the lines it needs parsed and sorted and the engines run over the keys it owns.
    None if a process it waits on is gone. Leaves the loaded events frozen out of the
    collector (the caller unfreezes)."""
    route = LineRouter(engines, shard.count).route
    shared = routes.shared
    for at in routes.slice_of(shard.index):
        line = lines[at]
        shared[at] = route(line, at + 1) if line and not line.isspace() else 0
    routes.done(shard.index)
    masks = routes.wait(others_alive)
    if masks is None:
        return None
    me = 1 << shard.index
    kept: list[tuple[float, int, AccessEvent]] = []
    invalid: list[InvalidLine] = []
    enabled = gc.isenabled()
    gc.disable()
    try:
        for number, (line, mask) in enumerate(zip(lines, masks, strict=True), 1):
            if not mask & me:
                continue
            try:
                event = compact(parse_event(line))
            except EventError as exc:
                if reporter(mask) == shard.index:
                    invalid.append(InvalidLine(number, exc.reason))
                continue
            kept.append((event.ts, number, event))
        kept.sort(key=itemgetter(0))  # stable: ties by line number, as in one process
        gc.freeze()
    finally:
        if enabled:
            gc.enable()
    out = []
    for engine in engines:
        kind_index = {kind: i for i, kind in enumerate(engine.key_kinds)}
        ts, number = 0.0, 0

        def tracked() -> Iterator[AccessEvent]:
            nonlocal ts, number
            for ts, number, event in kept:  # noqa: B007 (read by the caller's loop)
                yield event

        # engine.run yields an event's findings before it takes the next event, so
        # (ts, number) is the event that made each finding.
        out.append([((ts, number, kind_index[f.key_kind]), f)
                    for f in engine.run(tracked(), shard)])
    return out, invalid, len(masks) - masks.count(0)


def _part_child(send: Connection, engines: Sequence[Engine], lines: list[bytes | str],
                routes: _Routes, shard: KeyShard, parent: int) -> None:
    # Ctrl-C reaches the whole process group: the parent stops, and terminates its children.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        result: tuple[bool, object] = (True, _run_part(
            engines, lines, routes, shard, lambda: os.getppid() == parent))
    except BaseException as exc:  # reported to the parent, which raises
        result = (False, f"{type(exc).__name__}: {exc}")
    try:
        send.send(result)
    except OSError:  # the parent is gone, or gave up on us: nobody to tell
        pass
    finally:
        send.close()
