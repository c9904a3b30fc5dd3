"""Send NDJSON access events to the input topic, keyed by user; report what was rejected."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from detectors.errors import EventError
from detectors.events import parse_event
from pipeline import topics
from pipeline.kafka import PLAINTEXT, KafkaSecurity, make_producer
from pipeline.progress import Progress

__all__ = ["ProduceSummary", "produce_lines"]


@dataclass
class ProduceSummary:
    sent: int = 0
    rejected: list[tuple[int, str]] = field(default_factory=list)

    def reasons(self) -> Counter[str]:
        return Counter(reason.split(":")[0] for _, reason in self.rejected)


async def produce_lines(
    bootstrap: str, lines: Iterable[bytes], *, topic: str = topics.EVENTS,
    total: int | None = None, progress: Progress | None = None, validate: bool = True,
    security: KafkaSecurity = PLAINTEXT,
) -> ProduceSummary:
    """Validate each line (unless ``validate`` is off, for tests of bad input) and send it."""
    summary = ProduceSummary()
    producer = await make_producer(bootstrap, security=security)
    pending: list[asyncio.Future[object]] = []
    try:
        for n, line in enumerate(lines, 1):
            line = line.strip()
            if not line:
                continue
            key: bytes | None = None
            if validate:
                try:
                    key = parse_event(line).user.encode()
                except EventError as exc:
                    summary.rejected.append((n, exc.reason))
                    continue
            pending.append(await producer.send(topic, value=line, key=key))
            summary.sent += 1
            if progress:
                progress.advance()
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    if progress:
        progress.finish()
    return summary
