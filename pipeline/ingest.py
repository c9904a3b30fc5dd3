"""Read a log a team already has, turn it into v1 events (:mod:`detectors.sources`) and
produce them to the input topic keyed by user; lines that are bad input go to the events
dead-letter topic with their reason and line number. Nothing is dropped silently: every run
ends with a summary (parsed, skipped by reason).

Parsing runs in a thread, so ``--follow`` can wait on a growing file while the producer's
event loop keeps sending.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import IO

from detectors.events import AccessEvent
from detectors.sources import Skipped, SourceOptions, Summary, parse_source
from pipeline import topics
from pipeline.kafka import PLAINTEXT, KafkaSecurity, make_producer
from pipeline.progress import Progress
from pipeline.records import dlq_headers

__all__ = ["follow_lines", "ingest"]

_DONE = object()


def follow_lines(stream: IO[str], stop: threading.Event, poll_seconds: float = 0.2
                 ) -> Iterator[str]:
    """Lines of a file as it grows (like ``tail -f``), until ``stop`` is set."""
    partial = ""
    while not stop.is_set():
        chunk = stream.readline()
        if not chunk:
            time.sleep(poll_seconds)
            continue
        partial += chunk
        if partial.endswith("\n"):
            yield partial.rstrip("\n")
            partial = ""
    if partial:
        yield partial


async def ingest(bootstrap: str, fmt: str, lines: Iterable[str], options: SourceOptions, *,
                 source_name: str, summary: Summary, progress: Progress | None = None,
                 stop: threading.Event | None = None,
                 security: KafkaSecurity = PLAINTEXT) -> None:
    """Parse ``lines`` as ``fmt`` and produce the results; fills ``summary``."""
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue[object] = asyncio.Queue(maxsize=10_000)
    failure: list[BaseException] = []

    def parse() -> None:
        try:
            for item in summary.track(parse_source(fmt, lines, options)):
                asyncio.run_coroutine_threadsafe(queue.put(item), loop).result()
                if stop is not None and stop.is_set():
                    break
        except BaseException as exc:  # handed to the event loop, re-raised there
            failure.append(exc)
        finally:
            asyncio.run_coroutine_threadsafe(queue.put(_DONE), loop).result()

    producer = await make_producer(bootstrap, security=security)
    thread = threading.Thread(target=parse, name="ingest-parse", daemon=True)
    thread.start()
    pending: list[asyncio.Future[object]] = []
    try:
        while (item := await queue.get()) is not _DONE:
            if isinstance(item, AccessEvent):
                pending.append(await producer.send(topics.EVENTS, value=item.to_json(),
                                                   key=item.user.encode()))
            elif isinstance(item, Skipped) and item.bad:
                reason = f"{item.reason}: {item.detail}" if item.detail else item.reason
                pending.append(await producer.send(
                    topics.EVENTS_DLQ, value=item.raw.encode(errors="replace"),
                    headers=dlq_headers(reason, topic=f"file:{source_name}", partition=0,
                                        offset=item.line_no, line=item.line_no)))
            if progress is not None:
                progress.advance()
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
        thread.join(5)
    if progress is not None:
        progress.finish()
    if failure:
        raise failure[0]


def open_lines(path: str) -> tuple[IO[str], str]:
    if path == "-":
        import sys

        return sys.stdin, "stdin"
    p = Path(path)
    return p.open(encoding="utf-8", errors="replace"), p.name
