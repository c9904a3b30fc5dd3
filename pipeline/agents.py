"""The agents: short loops that decode, call the pure core, write state back, send.

- ``detect_user`` reads ``EVENTS`` (key = user) in batches of the events that are ready
  (:mod:`pipeline.batches`): bad input → ``EVENTS_DLQ``;
  valid events run the per-user detectors and are forwarded, grouped, to one re-keyed topic
  per other key kind (source IP, credential) when such detectors are enabled.
- ``detect_<kind>`` reads a re-keyed topic and runs that kind's detectors.
- alerts go to ``ALERTS`` keyed by user (see :mod:`pipeline.alerting` for what follows).

Changed key states are kept decoded and written at most every ``state_flush_seconds``,
straight to the changelog partition of the message they came from (Faust's own
``table[key] = v`` would write on every change); events are acked, so their offsets can be
committed, only once that state and everything the batch sent is on the broker (see
:mod:`pipeline.pending`). Events forwarded to another key kind's topic go as one NDJSON
message per destination partition per batch.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import faust
from faust.types import EventT

from alerts.lifecycle import partition_key
from alerts.model import Alert
from detectors.engine import KeyState
from detectors.errors import EventError
from detectors.events import parse_event
from detectors.findings import Finding, KeyKind
from pipeline import topics
from pipeline.alerting import EventClock
from pipeline.app import App, raw_topic
from pipeline.archive.writer import Item
from pipeline.audit import Audit
from pipeline.batches import ready_batches
from pipeline.live import Live
from pipeline.logs import log_event
from pipeline.pending import PendingState
from pipeline.records import dlq_headers, split_records
from pipeline.settings import WorkerSettings

__all__ = ["Counters", "Topology", "build_topology"]



@dataclass
class Counters:
    events_in: int = 0
    dead_lettered: int = 0
    rekeyed: int = 0
    findings: dict[str, int] = field(default_factory=dict)


@dataclass
class Topology:
    app: faust.App
    live: Live
    topic_names: tuple[str, ...]
    counters: Counters


def build_topology(
    app: faust.App,
    settings: WorkerSettings,
    live: Live,
    clock: EventClock,
    log: logging.Logger,
    audit: Audit | None = None,
) -> Topology:
    """Declare topics, tables and agents on ``app``."""
    counters = Counters()
    audit = audit or Audit()
    events = raw_topic(app, topics.EVENTS)
    dlq = raw_topic(app, topics.EVENTS_DLQ)
    alerts = raw_topic(app, topics.ALERTS)
    # Agents for every key kind exist from the start, so a reloaded config can enable a
    # detector of a kind that had none; events are forwarded only to kinds in use.
    other_kinds: list[KeyKind] = ["source_ip", "credential"]
    forward = {k: raw_topic(app, topics.REKEYED[k]) for k in other_kinds}

    async def dead_letter(msg: Any, reason: str, line: int | None, record: bytes,
                          trail: list[Item], tally: Counter[str]) -> None:
        """The bad record (one line of a multi-event message, else the whole message) goes to
        the dead-letter topic as it came; the batch logs one line with counts by reason."""
        counters.dead_lettered += 1
        if audit.enabled:
            trail.append(audit.dead_letter(record, reason, topic=msg.topic,
                                           partition=msg.partition, offset=msg.offset, line=line))
        await dlq.send(key=msg.key, value=record, headers=dlq_headers(
            reason, topic=msg.topic, partition=msg.partition, offset=msg.offset, line=line))
        if not tally:
            log_event(log, "event.dead_lettered", level=logging.WARNING, reason=reason,
                      topic=msg.topic, partition=msg.partition, offset=msg.offset, line=line)
        tally[reason.split(":")[0][:80]] += 1

    async def emit(found: list[Finding]) -> None:
        for f in found:
            counters.findings[f.detector] = counters.findings.get(f.detector, 0) + 1
            alert = Alert.from_finding(f)
            await alerts.send(key=partition_key(alert).encode(), value=alert.to_json())
            log_event(log, "finding", detector=f.detector, alert_id=f.alert_id,
                      key_kind=f.key_kind, key=f.key)

    def make_detector(kind: KeyKind, source: faust.TopicT) -> None:
        table = app.Table(f"state-{kind}", key_type=bytes, value_type=bytes,
                          partitions=settings.partitions)
        pending = PendingState()
        lock = asyncio.Lock()  # a batch and a flush never interleave
        streams: list[Any] = []  # the agent's stream, once it runs (acks go through it)

        async def flush() -> None:
            """Send the changed state, wait until everything sent so far is on the broker,
            then ack the events it covers (only acked offsets are ever committed)."""
            if streams and pending.has_work():
                await pending.flush(app, table, settings.changelog_end_markers, streams[0])

        async def process(batch: Sequence[EventT]) -> None:
            states: dict[str, KeyState | None] = {}
            partitions: dict[str, int] = {}
            engine = live.engine
            outgoing: dict[KeyKind, dict[str, list[bytes]]] = (
                {k: {} for k in forward if k in engine.key_kinds} if kind == "user" else {})
            found: list[Finding] = []
            trail: list[Item] = []  # archived before the batch's offsets can be committed
            tally: Counter[str] = Counter()  # dead letters of this batch, by reason
            horizon = time.time() + settings.max_future_seconds  # later events are refused
            archive = audit.enabled and kind == "user"
            newest = 0.0
            for ev in batch:
                msg = ev.message
                records = split_records(msg.value)
                many = len(records) > 1
                for n, rec in enumerate(records, 1):
                    if kind == "user":  # records read from the input topic
                        counters.events_in += 1
                    try:
                        event = parse_event(rec)
                    except EventError as exc:
                        await dead_letter(msg, exc.reason, n if many else None, rec, trail, tally)
                        continue
                    if kind == "user" and event.ts > horizon:
                        # One event from the far future would move the user's watermark and
                        # make every real event after it "late": refuse it at the edge.
                        ahead = event.ts - time.time()
                        await dead_letter(msg, f"timestamp is {ahead:.0f} s ahead of the worker's "
                                          f"clock (limit {settings.max_future_seconds:.0f} s)",
                                          n if many else None, rec, trail, tally)
                        continue
                    key = engine.key_for(kind, event)
                    if key is None:
                        continue
                    if kind == "user" and msg.key != key.encode():
                        # Missing or wrong key (or a batched message mixing users): re-key
                        # so every user's state lives on that user's partition.
                        counters.rekeyed += 1
                        await events.send(key=key.encode(), value=rec)
                        continue
                    for k2, bucket in outgoing.items():
                        k2key = engine.key_for(k2, event)
                        if k2key is not None and engine.accepts(k2, event):
                            bucket.setdefault(k2key, []).append(rec)
                    newest = max(newest, event.ts)
                    if archive:
                        trail.append(audit.event(event))
                    if not engine.accepts(kind, event):
                        continue  # no detector of this kind looks at it: state unchanged
                    if key not in states:
                        states[key] = pending.state(table, key.encode())
                    new, f = engine.step(kind, states[key], event)
                    states[key] = new
                    partitions[key] = msg.partition
                    found.extend(f)
            for k2, bucket in outgoing.items():
                await send_grouped(forward[k2], bucket)
            for key, st in states.items():
                pending.changed(key.encode(), st, partitions[key])
            await emit(found)
            audit.batch(trail)
            if sum(tally.values()) > 1:  # the first was logged in full
                log_event(log, "events.dead_lettered", level=logging.WARNING,
                          count=sum(tally.values()), by_reason=dict(tally.most_common(10)))
            if newest:
                clock.observe(newest)

        async def agent(stream: faust.StreamT) -> None:
            streams[:] = [stream]
            async for batch in ready_batches(stream, settings.batch_max_events):
                async with lock:
                    await process(batch)
                    pending.processed(batch)
                    if pending.due(settings.state_flush_seconds):
                        await flush()

        async def flush_now(*_: Any, **__: Any) -> None:  # also a revoke-signal receiver
            async with lock:
                await flush()

        async def flush_when_idle() -> None:
            if pending.due(settings.state_flush_seconds):
                await flush_now()

        app.agent(source, name=f"detect_{kind}")(agent)
        app.timer(settings.state_flush_seconds, name=f"flush_{kind}")(flush_when_idle)
        app.on_partitions_revoked.connect(flush_now)
        if isinstance(app, App):
            app.before_stop.append(flush_now)

    async def send_grouped(topic: faust.TopicT, bucket: dict[str, list[bytes]]) -> None:
        """One message per destination partition (NDJSON lines), each record on the
        partition its key hashes to: far fewer messages than one per key."""
        by_partition: dict[int, list[bytes]] = {}
        for key, recs in bucket.items():
            by_partition.setdefault(partition_of(topic.get_topic_name(), key), []).extend(recs)
        for partition, recs in by_partition.items():
            await topic.send(value=b"\n".join(recs), partition=partition)

    partition_cache: dict[tuple[str, str], int] = {}

    def partition_of(topic_name: str, key: str) -> int:
        """The partition Kafka's default partitioner gives ``key`` on ``topic_name``."""
        hit = partition_cache.get((topic_name, key))
        if hit is None:
            if len(partition_cache) > 100_000:
                partition_cache.clear()
            hit = partition_cache[(topic_name, key)] = app.producer.key_partition(
                topic_name, key.encode()).partition
        return hit

    make_detector("user", events)
    for kind in other_kinds:
        make_detector(kind, forward[kind])

    names = (topics.EVENTS, topics.EVENTS_DLQ, topics.ALERTS,
             *(topics.REKEYED[k] for k in other_kinds))
    return Topology(app=app, live=live, topic_names=names, counters=counters)
