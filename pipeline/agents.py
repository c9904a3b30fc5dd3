"""The agents: short loops that decode, call the pure core, write state back, send.

- ``detect_user`` reads ``EVENTS`` (key = user) in batches: bad input → ``EVENTS_DLQ``;
  valid events run the per-user detectors and are forwarded, grouped, to one re-keyed topic
  per other key kind (source IP, credential) when such detectors are enabled.
- ``detect_<kind>`` reads a re-keyed topic and runs that kind's detectors.
- alerts go to ``ALERTS`` keyed by user (see :mod:`pipeline.alerting` for what follows).

Every key's state is written once per batch, straight to the changelog partition of the
message it came from (Faust's own ``table[key] = v`` would use the batch's last event).
Offsets are committed only after the batch is processed and its sends are flushed.
"""

from __future__ import annotations

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
from pipeline.app import raw_topic
from pipeline.archive.writer import Item
from pipeline.audit import Audit
from pipeline.live import Live
from pipeline.logs import log_event
from pipeline.records import decode_state, dlq_headers, encode_state, split_records
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


#: Key of the tombstone that closes a changelog batch (see :func:`end_changelog_batches`).
END_MARKER = b"\x00accessguard.end"


async def end_changelog_batches(app: faust.App, table: Any, touched: set[int]) -> None:
    """Work around a broker that reports a partition's end offset as its last record batch's
    base offset + 1 (the embedded Tansu does): Faust's table recovery reads changelogs up to
    that end, so state written in a multi-record batch could be lost on restart. Sending a
    tombstone on its own, after the batch's state is flushed, makes every touched changelog
    partition end in a one-record batch. Recovery deletes the (never present) marker key."""
    await app.producer.flush()
    for partition in sorted(touched):
        table.send_changelog(partition, END_MARKER, None)
    await app.producer.flush()


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
                    if key not in states:
                        states[key] = decode_state(table.data.get(key.encode()))
                    newest = max(newest, event.ts)
                    if archive:
                        trail.append(audit.event(event))
                    if not engine.accepts(kind, event):
                        continue  # no detector of this kind looks at it: state unchanged
                    new, f = engine.step(kind, states[key], event)
                    states[key] = new
                    partitions[key] = msg.partition
                    found.extend(f)
            for k2, bucket in outgoing.items():
                for k2key, recs in bucket.items():
                    await forward[k2].send(key=k2key.encode(), value=b"\n".join(recs))
            for key, st in states.items():
                kb = key.encode()
                if st is None:
                    table.data.pop(kb, None)
                    table.send_changelog(partitions[key], kb, None)
                else:
                    vb = encode_state(st)
                    table.data[kb] = vb
                    table.send_changelog(partitions[key], kb, vb)
            if settings.changelog_end_markers and states:
                await end_changelog_batches(app, table, set(partitions.values()))
            await emit(found)
            audit.batch(trail)
            if sum(tally.values()) > 1:  # the first was logged in full
                log_event(log, "events.dead_lettered", level=logging.WARNING,
                          count=sum(tally.values()), by_reason=dict(tally.most_common(10)))
            if newest:
                clock.observe(newest)

        async def agent(stream: faust.StreamT) -> None:
            async for batch in stream.take_events(  # type: ignore[attr-defined]  # not in StreamT
                settings.batch_max_events, within=settings.batch_within_seconds
            ):
                await process(batch)

        app.agent(source, name=f"detect_{kind}")(agent)

    make_detector("user", events)
    for kind in other_kinds:
        make_detector(kind, forward[kind])

    names = (topics.EVENTS, topics.EVENTS_DLQ, topics.ALERTS,
             *(topics.REKEYED[k] for k in other_kinds))
    return Topology(app=app, live=live, topic_names=names, counters=counters)
