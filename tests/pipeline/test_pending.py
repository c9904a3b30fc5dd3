"""PendingState: changed state is written once per flush, and events are acked only after the
producer has delivered everything sent before the flush."""

import asyncio
from typing import Any

from pipeline.pending import END_MARKER, PendingState
from pipeline.records import decode_state, encode_state


class FakeTable:
    def __init__(self, data: dict[bytes, bytes] | None = None) -> None:
        self.data: dict[bytes, bytes] = dict(data or {})
        self.changelog: list[tuple[int, bytes, bytes | None]] = []

    def send_changelog(self, partition: int, key: bytes, value: bytes | None) -> None:
        self.changelog.append((partition, key, value))


class Journal:
    """The order of what reaches the 'broker' (producer flushes) and the acks."""

    def __init__(self) -> None:
        self.steps: list[str] = []


class FakeProducer:
    def __init__(self, journal: Journal, table: FakeTable) -> None:
        self.journal, self.table = journal, table

    async def flush(self) -> None:
        self.journal.steps.append(f"flush after {len(self.table.changelog)} changelog records")


class FakeApp:
    def __init__(self, journal: Journal, table: FakeTable) -> None:
        self.producer = FakeProducer(journal, table)


def fake_app(journal: Journal, table: FakeTable) -> Any:
    return FakeApp(journal, table)


def events(*names: str) -> list[Any]:
    """Stand-ins for Faust events: PendingState only hands them back to stream.ack."""
    return list(names)


class FakeStream:
    def __init__(self, journal: Journal) -> None:
        self.journal = journal

    async def ack(self, event: Any) -> bool:
        self.journal.steps.append(f"ack {event}")
        return True


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_changed_state_is_read_back_before_it_is_written() -> None:
    table = FakeTable({b"ann": encode_state({"n": 1})})
    pending = PendingState()
    assert pending.state(table, b"ann") == {"n": 1}
    assert pending.state(table, b"bob") is None
    pending.changed(b"ann", {"n": 2}, partition=3)
    pending.changed(b"bob", None, partition=1)
    assert pending.state(table, b"ann") == {"n": 2}
    assert pending.state(table, b"bob") is None
    assert table.changelog == []  # nothing written yet


def test_flush_writes_each_key_once_then_waits_for_the_producer_then_acks() -> None:
    journal = Journal()
    table = FakeTable({b"gone": b"{}"})
    pending = PendingState()
    for n in range(3):  # three batches touch ann: one write
        pending.changed(b"ann", {"n": n}, partition=2)
        pending.processed(events(f"e{n}"))
    pending.changed(b"gone", None, partition=0)
    asyncio.run(pending.flush(fake_app(journal, table), table, False, FakeStream(journal)))
    assert sorted(table.changelog, key=lambda r: r[1]) == [
        (2, b"ann", encode_state({"n": 2})), (0, b"gone", None)]
    assert decode_state(table.data[b"ann"]) == {"n": 2} and b"gone" not in table.data
    assert journal.steps == ["flush after 2 changelog records", "ack e0", "ack e1", "ack e2"]
    assert pending.size == (0, 0) and not pending.has_work()


def test_with_end_markers_every_touched_partition_ends_in_a_lone_tombstone() -> None:
    journal = Journal()
    table = FakeTable()
    pending = PendingState()
    pending.changed(b"ann", {"n": 1}, partition=2)
    pending.changed(b"bob", {"n": 1}, partition=0)
    pending.processed(events("e1"))
    asyncio.run(pending.flush(fake_app(journal, table), table, True, FakeStream(journal)))
    assert table.changelog[-2:] == [(0, END_MARKER, None), (2, END_MARKER, None)]
    assert journal.steps == ["flush after 2 changelog records",
                             "flush after 4 changelog records", "ack e1"]


def test_a_flush_is_due_only_with_work_and_after_the_interval() -> None:
    clock = Clock()
    pending = PendingState(clock)
    clock.now += 5
    assert not pending.due(1.0)  # nothing to do
    pending.processed(events("e1"))
    assert pending.due(1.0)
    journal, table = Journal(), FakeTable()
    asyncio.run(pending.flush(fake_app(journal, table), table, False, FakeStream(journal)))
    pending.processed(events("e2"))
    clock.now += 0.5
    assert not pending.due(1.0)
    clock.now += 0.5
    assert pending.due(1.0)
