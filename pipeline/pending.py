"""What a detect agent has processed but not yet made durable, and how it is made durable.

A batch changes the state of the keys it touches. Writing every changed key to the
changelog after every batch (what the agents did before) costs one Kafka message per key per
batch: at a few thousand events/s most of the worker's time. Instead the agent keeps changed
states here, decoded, and flushes them at most every ``state_flush_seconds``: a key
touched by many batches in that time is encoded and written once.

Nothing is lost by waiting, because nothing is acknowledged before it is durable. The
agent reads without acking (:func:`pipeline.batches.ready_batches`), so Faust commits no
offset on its own; :meth:`flush` writes the changed states, waits until the producer has
delivered everything sent so far (state, forwarded events, alerts, dead letters), and only
then acks the events it covers.
After a crash the worker restarts from the last committed offset with state at least as new
as that offset: events processed twice are recognised by the per-key duplicate check
(:data:`detectors.engine.SEEN_IDS`) and alerts re-sent carry the same alert id.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from typing import Any

import faust
from faust.types import EventT

from detectors.engine import KeyState
from pipeline.records import decode_state, encode_state

__all__ = ["END_MARKER", "PendingState", "end_changelog_batches"]

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


class PendingState:
    """Changed key states not yet written, and processed events not yet acked."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._clock = clock
        self._changed: dict[bytes, tuple[KeyState | None, int]] = {}  # key: (state, partition)
        self._unacked: list[EventT] = []
        self._last = clock()

    def state(self, table: Any, key: bytes) -> KeyState | None:
        """The key's current state: a changed one not yet written, else the table's."""
        hit = self._changed.get(key)
        if hit is not None:
            return hit[0]
        return decode_state(table.data.get(key))

    def changed(self, key: bytes, state: KeyState | None, partition: int) -> None:
        """The key's new state (None: none kept), to go to ``partition`` of the changelog."""
        self._changed[key] = (state, partition)

    def processed(self, events: Iterable[EventT]) -> None:
        """Events whose effects are all in :meth:`changed` states or already sent."""
        self._unacked.extend(events)

    @property
    def size(self) -> tuple[int, int]:
        """(changed keys, unacked events)."""
        return len(self._changed), len(self._unacked)

    def has_work(self) -> bool:
        return bool(self._changed or self._unacked)

    def due(self, interval: float) -> bool:
        return self.has_work() and self._clock() - self._last >= interval

    async def flush(self, app: faust.App, table: Any, end_markers: bool, stream: Any) -> None:
        """Write every changed state, wait for the producer, then ack the covered events."""
        touched: set[int] = set()
        data = table.data
        for key, (state, partition) in self._changed.items():
            if state is None:
                data.pop(key, None)
                table.send_changelog(partition, key, None)
            else:
                value = encode_state(state)
                data[key] = value
                table.send_changelog(partition, key, value)
            touched.add(partition)
        self._changed.clear()
        if end_markers and touched:
            await end_changelog_batches(app, table, touched)  # flushes the producer too
        else:
            await app.producer.flush()
        events, self._unacked = self._unacked, []
        for event in events:
            await stream.ack(event)
        self._last = self._clock()
