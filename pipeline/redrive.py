"""Re-send what the alerts dead-letter topic holds.

Reads ``ALERTS_DLQ`` with its own consumer group from where the last redrive stopped, up to
the end offsets seen at start (so what fails again and is re-dead-lettered is left for the
next run, not retried in a loop). Each record is re-sent to the destination it failed at,
with its original idempotency key; a failure is dead-lettered again with the new reason.
The group's offset is committed after each record is either delivered or dead-lettered.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, TopicPartition
from aiokafka.structs import ConsumerRecord

from alerts.deadletter import dead_letter, parse_dead_letter
from alerts.delivery import Dispatcher
from alerts.errors import AlertsError
from pipeline import topics
from pipeline.kafka import PLAINTEXT, KafkaSecurity, make_producer
from pipeline.records import dlq_headers

__all__ = ["RedriveSummary", "redrive_dead_letters"]


@dataclass
class RedriveSummary:
    delivered: int = 0
    failed_again: int = 0
    not_redrivable: int = 0
    lines: list[str] = field(default_factory=list)


async def redrive_dead_letters(
    bootstrap: str, dispatcher: Dispatcher, *, group: str, limit: int | None = None,
    dry_run: bool = False, report: Callable[[str], None] = print,
    security: KafkaSecurity = PLAINTEXT,
) -> RedriveSummary:
    summary = RedriveSummary()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False, auto_offset_reset="earliest",
                                **security.client_kwargs())
    await consumer.start()
    producer = None if dry_run else await make_producer(bootstrap, security=security)
    try:
        parts = [TopicPartition(topics.ALERTS_DLQ, p)
                 for p in sorted(consumer.partitions_for_topic(topics.ALERTS_DLQ) or ())]
        consumer.assign(parts)
        ends = await consumer.end_offsets(parts)
        for tp in parts:
            committed = await consumer.committed(tp)
            consumer.seek(tp, committed or 0)
        done = 0
        for tp in parts:
            while await consumer.position(tp) < ends[tp] and (limit is None or done < limit):
                batch = await consumer.getmany(tp, timeout_ms=1000, max_records=100)
                for rec in batch.get(tp, []):
                    if rec.offset >= ends[tp] or (limit is not None and done >= limit):
                        break
                    done += 1
                    await _one(rec, dispatcher, producer, summary, report, dry_run)
                    if not dry_run:
                        await consumer.commit({tp: rec.offset + 1})
    finally:
        await consumer.stop()
        if producer is not None:
            await producer.stop()
    return summary


async def _one(rec: ConsumerRecord[bytes, bytes], dispatcher: Dispatcher,
               producer: AIOKafkaProducer | None, summary: RedriveSummary,
               report: Callable[[str], None], dry_run: bool) -> None:
    value: bytes = rec.value or b""
    try:
        note, destination = parse_dead_letter(value)
    except AlertsError:
        summary.not_redrivable += 1
        reason = dict(rec.headers).get("accessguard-error", b"").decode()
        report(f"skip   offset {rec.offset}: not a delivery dead letter ({reason})")
        return
    what = f"{note.alert.alert_id} ({note.kind}) → {destination}"
    if dry_run or producer is None:
        report(f"would  {what}")
        return
    [outcome] = await dispatcher.dispatch(note, [destination])
    if outcome.error is None:
        summary.delivered += 1
        report(f"sent   {what}")
        return
    summary.failed_again += 1
    report(f"failed {what}: {outcome.error.reason}")
    record = dead_letter(note, destination, outcome.error, failed_at=time.time())
    await producer.send_and_wait(
        topics.ALERTS_DLQ, key=rec.key, value=json.dumps(record).encode(),
        headers=dlq_headers(outcome.error.reason, topic=topics.ALERTS_DLQ,
                            partition=rec.partition, offset=rec.offset))
