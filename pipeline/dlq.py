"""Read dead-letter topics (for the demo, tests and operators)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from aiokafka import AIOKafkaConsumer, TopicPartition

__all__ = ["DeadLetter", "read_dead_letters"]


@dataclass(frozen=True)
class DeadLetter:
    value: bytes
    key: bytes | None
    headers: dict[str, str]

    @property
    def reason(self) -> str:
        return self.headers.get("accessguard-error", "")


async def read_dead_letters(bootstrap: str, topic: str, *, timeout_seconds: float = 5.0,
                            expect: int | None = None) -> list[DeadLetter]:
    """Everything currently in ``topic`` (reads to the end offsets, or until ``expect``)."""
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    out: list[DeadLetter] = []
    try:
        parts = [TopicPartition(topic, p) for p in (consumer.partitions_for_topic(topic) or ())]
        if not parts:
            await consumer._client.force_metadata_update()
            parts = [TopicPartition(topic, p)
                     for p in (consumer.partitions_for_topic(topic) or ())]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        ends = await consumer.end_offsets(parts)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_seconds
        while loop.time() < deadline:
            if expect is None and await _at_end(consumer, ends):
                break
            if expect is not None and len(out) >= expect:
                break
            batch = await consumer.getmany(timeout_ms=200)
            for records in batch.values():
                for r in records:
                    headers = {k: v.decode(errors="replace") for k, v in r.headers}
                    out.append(DeadLetter(r.value or b"", r.key, headers))
    finally:
        await consumer.stop()
    return out


async def _at_end(consumer: AIOKafkaConsumer, ends: dict[TopicPartition, int]) -> bool:
    for tp, end in ends.items():
        if await consumer.position(tp) < end:
            return False
    return True
