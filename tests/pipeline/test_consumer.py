"""pipeline.consumer: the fetch loop's hand-over runs in place when it does not block, and
behaves as Faust's ``wait_first`` (a task raced against the suspend/stop events) when it
does; a fetched record that is not handed on sends its partition back to the committed
offset."""

import asyncio
import inspect
import logging
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pytest
from aiokafka import TopicPartition
from faust.types import TP

from pipeline.app import App
from pipeline.consumer import Consumer, InPlaceHandOver, RewindingFetch, _rewind_in_thread


class Probe(InPlaceHandOver):
    """The hand-over on a bare service: only its events, no broker."""

    def __init__(self) -> None:
        super().__init__()
        self.suspend_flow = asyncio.Event()


def run_with_consumer(body: Callable[[Probe], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        return await body(Probe())

    return asyncio.run(main())


def test_the_app_consumes_with_this_consumer() -> None:
    app = App("test-consumer", broker="kafka://127.0.0.1:1", store="memory://",
              web_enabled=False)
    assert app.transport.Consumer is Consumer


def test_a_hand_over_that_does_not_block_runs_in_place_without_tasks() -> None:
    delivered: list[int] = []

    async def callback(n: int) -> str:
        delivered.append(n)
        return f"ok {n}"

    async def body(consumer: Probe) -> tuple[Any, int, str]:
        before = len(asyncio.all_tasks())
        suspend = consumer.suspend_flow.wait()
        result = await consumer.wait_first(callback(1), suspend)
        created = len(asyncio.all_tasks()) - before
        return result, created, inspect.getcoroutinestate(suspend)

    result, created, suspend_state = run_with_consumer(body)
    assert delivered == [1]
    assert list(result.results) == ["ok 1"] and not result.stopped
    assert created == 0
    assert suspend_state == inspect.CORO_CLOSED  # closed, so no "never awaited" warning


def test_a_hand_over_that_blocks_finishes_in_a_task() -> None:
    async def body(consumer: Probe) -> Any:
        gate: asyncio.Future[str] = asyncio.get_running_loop().create_future()

        async def callback() -> str:
            value = await gate
            await asyncio.sleep(0)  # and once more, after the first wake-up
            return f"got {value}"

        asyncio.get_running_loop().call_later(0.01, gate.set_result, "x")
        return await consumer.wait_first(callback(), consumer.suspend_flow.wait())

    result = run_with_consumer(body)
    assert "got x" in result.results and not result.stopped


def test_a_suspend_while_blocked_cancels_the_hand_over_as_faust_does() -> None:
    cleaned: list[str] = []

    async def body(consumer: Probe) -> Any:
        never: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        async def callback() -> None:
            try:
                await never
            finally:
                cleaned.append("callback cancelled")

        asyncio.get_running_loop().call_later(0.01, consumer.suspend_flow.set)
        result = await consumer.wait_first(callback(), consumer.suspend_flow.wait())
        await asyncio.sleep(0.01)  # let the cancellation reach the callback
        return result

    result = run_with_consumer(body)
    assert result.results == [True]  # the suspend event won
    assert cleaned == ["callback cancelled"]


def test_errors_propagate_whether_raised_at_once_or_after_waiting() -> None:
    async def body(consumer: Probe) -> list[str]:
        seen: list[str] = []

        async def at_once() -> None:
            raise ValueError("at once")

        async def later() -> None:
            await asyncio.sleep(0.005)
            raise ValueError("later")

        for make in (at_once, later):
            try:
                await consumer.wait_first(make(), consumer.suspend_flow.wait())
            except ValueError as exc:
                seen.append(str(exc))
        return seen

    assert run_with_consumer(body) == ["at once", "later"]


def test_while_suspended_it_is_faust_own_wait_first() -> None:
    async def body(consumer: Probe) -> Any:
        consumer.suspend_flow.set()
        ran: list[str] = []

        async def callback() -> str:
            ran.append("ran")
            return "done"

        result = await consumer.wait_first(callback(), consumer.suspend_flow.wait())
        return result, ran

    result, ran = run_with_consumer(body)
    # Faust's own path: the callback became a task; both may have finished by the time
    # asyncio.wait returns, and no stop was signalled.
    assert not result.stopped
    assert result.results and set(result.results) <= {"done", True}
    assert ran in ([], ["ran"])


# --- the fetch: what is not handed on is fetched again ---------------------------------------

EVENTS0, EVENTS1 = TP("events", 0), TP("events", 1)
CHANGELOG0 = TP("state-changelog", 0)


@dataclass
class Record:
    offset: int


@dataclass
class FakeApp:
    consumer_generation_id: int = 3
    rebalancing: bool = False
    monitor: Any = field(default_factory=lambda: type(
        "Monitor", (), {"track_tp_end_offset": lambda self, tp, hw: None})())


class Scheduler:
    """Yields the batch in the order given; ``after(n)`` runs once n records were yielded."""

    def __init__(self) -> None:
        self.after: dict[int, Callable[[], None]] = {}

    def iterate(self, records: dict[TP, list[Record]]) -> Iterator[tuple[TP, Record]]:
        n = 0
        for tp, recs in records.items():
            for rec in recs:
                if n in self.after:
                    self.after[n]()
                yield tp, rec
                n += 1


class Fetch(RewindingFetch):
    """The fetch on its own: a batch to return, and the rewinds it asks for."""

    def __init__(self, batch: dict[TP, list[Record]], active: set[TP] | None) -> None:
        self.app = FakeApp()
        self.flow_active = True
        self.should_stop = False
        self.scheduler = Scheduler()
        self._buffered_partitions: set[TP] = set()
        self._read_offset: dict[TP, int | None] = {}
        self.batch, self.active = batch, active
        self.rewound: list[set[TP]] = []
        self.seeks = 0
        self.committed = {EVENTS0: 100, EVENTS1: 200}

    async def _wait_next_records(self, timeout: float) -> tuple[Any, Any]:
        return self.batch, self.active

    def _is_changelog_tp(self, tp: TP) -> bool:
        return tp.topic.endswith("-changelog")

    def highwater(self, tp: TP) -> int:
        return 0

    def _to_message(self, tp: TP, record: Record) -> tuple[str, int]:
        return f"{tp.topic}:{tp.partition}", record.offset

    async def perform_seek(self) -> None:
        self.seeks += 1

    async def _rewind(self, tps: set[TP]) -> dict[TP, int | None]:
        self.rewound.append(set(tps))
        return {tp: self.committed.get(tp) for tp in tps}


def fetch_all(fetch: Fetch) -> list[Any]:
    async def main() -> list[Any]:
        return [msg async for _, msg in fetch.getmany(timeout=1.0)]

    return asyncio.run(main())


def batch() -> dict[TP, list[Record]]:
    return {EVENTS0: [Record(100), Record(101)], EVENTS1: [Record(200), Record(201)],
            CHANGELOG0: [Record(7)]}


def test_in_steady_state_every_record_is_handed_on_and_nothing_rewound() -> None:
    fetch = Fetch(batch(), {EVENTS0, EVENTS1, CHANGELOG0})
    got = fetch_all(fetch)
    assert got == [("events:0", 100), ("events:0", 101), ("events:1", 200), ("events:1", 201),
                   ("state-changelog:0", 7)]
    assert fetch.rewound == [] and fetch.seeks == 0


def test_during_a_rebalance_stream_records_wait_and_their_partitions_rewind() -> None:
    """The end of a rebalance clears the stream queues: a stream record handed on before it
    would be lost. Changelog records (table recovery) still flow."""
    fetch = Fetch(batch(), {EVENTS0, EVENTS1, CHANGELOG0})
    fetch.app.rebalancing = True
    assert fetch_all(fetch) == [("state-changelog:0", 7)]
    assert fetch.rewound == [{EVENTS0, EVENTS1}]
    assert fetch._read_offset == {EVENTS0: 100, EVENTS1: 200}  # the fetch loop re-reads them


@pytest.mark.parametrize("change", ["flow stops", "generation changes"])
def test_a_batch_cut_short_rewinds_the_partitions_it_did_not_finish(change: str) -> None:
    fetch = Fetch(batch(), {EVENTS0, EVENTS1, CHANGELOG0})

    def cut() -> None:
        if change == "flow stops":
            fetch.flow_active = False
        else:
            fetch.app.consumer_generation_id += 1

    fetch.scheduler.after[3] = cut  # after events:0 100, 101 and events:1 200
    assert fetch_all(fetch) == [("events:0", 100), ("events:0", 101), ("events:1", 200)]
    assert fetch.rewound == [{EVENTS1}]  # changelogs are left to table recovery, as in Faust


def test_records_of_a_paused_partition_are_fetched_again_those_of_a_buffered_one_go_on() -> None:
    fetch = Fetch(batch(), {EVENTS0, CHANGELOG0})  # events:1 paused ...
    assert fetch_all(fetch) == [("events:0", 100), ("events:0", 101), ("state-changelog:0", 7)]
    assert fetch.rewound == [{EVENTS1}]
    fetch = Fetch(batch(), {EVENTS0, CHANGELOG0})
    fetch._buffered_partitions.add(EVENTS1)  # ... or only taken out while its queue is full
    assert len(fetch_all(fetch)) == 5 and fetch.rewound == []


def test_a_batch_that_arrives_with_the_flow_stopped_seeks_everything_as_faust_does() -> None:
    fetch = Fetch(batch(), {EVENTS0, EVENTS1, CHANGELOG0})
    fetch.flow_active = False
    assert fetch_all(fetch) == []
    assert fetch.seeks == 1 and fetch.rewound == []


def test_a_failed_rewind_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    fetch = Fetch(batch(), {EVENTS0, CHANGELOG0})

    async def broken(tps: set[TP]) -> dict[TP, int | None]:
        raise RuntimeError("broker gone")

    fetch._rewind = broken  # type: ignore[method-assign]
    with caplog.at_level(logging.WARNING, logger="accessguard"):
        assert len(fetch_all(fetch)) == 3
    assert "could not rewind" in caplog.text and "broker gone" in caplog.text


class FakeKafkaConsumer:
    """The aiokafka calls the rewind makes, on plain data."""

    def __init__(self, assigned: set[TopicPartition], committed: dict[TopicPartition, int]
                 ) -> None:
        self.assigned, self._committed = assigned, committed
        self.calls: list[tuple[str, TopicPartition, int | None]] = []

    def assignment(self) -> set[TopicPartition]:
        return self.assigned

    async def committed(self, tp: TopicPartition) -> int | None:
        assert type(tp) is TopicPartition
        return self._committed.get(tp)

    def seek(self, tp: TopicPartition, offset: int) -> None:
        assert type(tp) is TopicPartition
        self.calls.append(("seek", tp, offset))

    async def seek_to_beginning(self, *tps: TopicPartition) -> None:
        assert all(type(tp) is TopicPartition for tp in tps)
        self.calls.extend(("seek_to_beginning", tp, None) for tp in tps)


def test_the_rewind_goes_to_the_committed_offset_or_the_log_start_and_skips_revoked() -> None:
    kafka = FakeKafkaConsumer(
        assigned={TopicPartition("events", 0), TopicPartition("events", 1)},
        committed={TopicPartition("events", 0): 873})
    offsets = asyncio.run(_rewind_in_thread(kafka, {EVENTS0, EVENTS1, TP("events", 2)}))
    assert offsets == {EVENTS0: 873, EVENTS1: None}  # events:2 was revoked meanwhile
    assert sorted(kafka.calls, key=str) == [
        ("seek", TopicPartition("events", 0), 873),
        ("seek_to_beginning", TopicPartition("events", 1), None)]


def test_the_apps_consumer_rewinds() -> None:
    assert issubclass(Consumer, RewindingFetch)
    assert inspect.iscoroutinefunction(Consumer.__dict__["_rewind"])
