"""Faust's aiokafka consumer with a cheaper hand-over of each fetched message.

Faust's fetch loop hands every fetched message to the conductor through
``Service.wait_first(callback(message), suspend_flow.wait())``: four tasks and an
``asyncio.wait`` per message, so that a rebalance (``suspend_flow``) or a stop can cut a
hand-over short that blocks (flow control suspended, the producer buffer full). Almost every
hand-over never blocks: it decodes the message and puts it in a stream's queue. Here the
callback is first run in place; only when it would block is the rest handed to a task and
raced against the same events, exactly as Faust does. py-spy showed the tasks and loop turns
of ``wait_first`` as the largest share of a bare agent's CPU per message.

It also closes a hole in Faust's fetch loop that lost events after a rebalance until the
next restart. The fetch loop takes a batch of records from aiokafka, which moves each
partition's position past them, and then hands on only the records it still wants. Faust
skipped the rest without moving the position back: records of a partition that is paused
or not assigned, and the rest of the batch once the flow stops or the generation changes.
It counted on a seek to the committed offsets coming later, at the end of the rebalance,
but a batch can come back after that seek. Worse, records handed on while a rebalance is
still recovering tables sit in stream queues that the end of the recovery clears
(``flow_control.resume``). Both were seen: a worker that took over a partition fetched it
to the end while its agents saw none of ~600 events, and the partition's commits stopped
(``tests/e2e/test_faults.py``, a worker joining and another leaving mid-stream).

Here (:class:`RewindingFetch`) a stream record is handed on only once the rebalance is over
(``app.rebalancing`` is false); a changelog record as Faust would. Every stream partition
with a record that is not handed on is rewound to its committed offset (the start of the log if
it has none, as ``auto_offset_reset`` is ``earliest``), so those records are fetched again:
at least once, never skipped.
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import types
from collections.abc import (
    AsyncIterator,
    Awaitable,
    Callable,
    Coroutine,
    Generator,
    Mapping,
    MutableMapping,
)
from typing import Any

from aiokafka import TopicPartition
from faust.transport.drivers import aiokafka as faust_aiokafka
from faust.types import TP, Message
from mode import Service
from mode.services import WaitResults

from pipeline.logs import log_event

__all__ = ["Consumer", "InPlaceHandOver", "RewindingFetch", "Transport", "finish_in_task"]

log = logging.getLogger("accessguard")


@types.coroutine
def _resume(coro: Coroutine[Any, Any, Any], waiting: Any) -> Generator[Any, Any, Any]:
    """Go on driving ``coro``, which has already run up to awaiting ``waiting``."""
    while True:
        try:
            yield waiting
        except BaseException as exc:  # cancellation included: hand it to the coroutine
            try:
                waiting = coro.throw(exc)
            except StopIteration as done:
                return done.value
        else:
            try:
                waiting = coro.send(None)
            except StopIteration as done:
                return done.value


async def _continue(coro: Coroutine[Any, Any, Any], waiting: Any) -> Any:
    return await _resume(coro, waiting)


def finish_in_task(coro: Coroutine[Any, Any, Any], waiting: Any) -> asyncio.Task[Any]:
    """A task that finishes ``coro``, already stepped once and suspended on ``waiting``."""
    return asyncio.ensure_future(_continue(coro, waiting))


class InPlaceHandOver(Service):
    """``wait_first`` for a service with a ``suspend_flow`` event (a Faust consumer): the
    first coroutine runs in place until it would wait; see the module docstring."""

    suspend_flow: asyncio.Event

    async def wait_first(self, *coros: Any, timeout: Any = None) -> WaitResults:
        first = coros[0] if coros else None
        if (not inspect.iscoroutine(first) or self.suspend_flow.is_set()
                or self._stopped.is_set() or self._crashed.is_set()):
            return await super().wait_first(*coros, timeout=timeout)
        try:
            waiting = first.send(None)
        except StopIteration as done:  # ran to the end without waiting: the usual case
            _close(coros[1:])
            return WaitResults([first], [done.value], False)
        except BaseException:
            _close(coros[1:])
            raise
        return await super().wait_first(finish_in_task(first, waiting), *coros[1:],
                                        timeout=timeout)


class RewindingFetch:
    """``getmany`` for a Faust consumer that rewinds what it does not hand on; see the module
    docstring. Needs the Faust consumer's attributes and a ``_rewind``."""

    app: Any
    flow_active: bool
    scheduler: Any
    _buffered_partitions: set[TP]
    _read_offset: MutableMapping[TP, int | None]
    #: Moves each still assigned partition of a set back to its committed offset (or the
    #: start of its log); returns the offsets, None for a log's start.
    _rewind: Callable[[set[TP]], Awaitable[dict[TP, int | None]]]

    async def getmany(self, timeout: float) -> AsyncIterator[tuple[TP, Message]]:
        records, active = await self._wait_next_records(timeout)  # type: ignore[attr-defined]
        if records is None or self.should_stop:  # type: ignore[attr-defined]
            return
        if not self.flow_active:  # Faust's way: drop the batch, seek all to committed
            try:
                await self.perform_seek()  # type: ignore[attr-defined]
            except Exception as exc:
                log.warning("seek to committed offsets failed: %r", exc)
            return
        app = self.app
        generation = app.consumer_generation_id
        buffered = self._buffered_partitions
        is_changelog = self._is_changelog_tp  # type: ignore[attr-defined]
        held_back: dict[TP, int] = {}  # partition -> first offset not handed on
        for tp, record in self.scheduler.iterate(records):
            if tp in held_back:
                continue
            if (self.flow_active and app.consumer_generation_id == generation
                    and (active is None or tp in active or tp in buffered)
                    and (not app.rebalancing or is_changelog(tp))):
                app.monitor.track_tp_end_offset(tp, self.highwater(tp))  # type: ignore[attr-defined]
                yield tp, self._to_message(tp, record)  # type: ignore[attr-defined]
            elif not is_changelog(tp):  # changelogs are table recovery's: it seeks them
                held_back[tp] = record.offset
        if held_back:
            await self._rewind_held_back(held_back)

    async def _rewind_held_back(self, held_back: Mapping[TP, int]) -> None:
        try:
            offsets = await self._rewind(set(held_back))
        except Exception as exc:  # a rebalance under way seeks every partition anyway
            log.warning("could not rewind partitions %s: %r", sorted(held_back), exc)
            return
        for tp, offset in offsets.items():
            self._read_offset[tp] = offset
        log_event(log, "fetch.rewound", partitions={
            f"{tp.topic}:{tp.partition}": {"held_back_from": held_back[tp],
                                           "rewound_to": offsets.get(tp)}
            for tp in sorted(held_back)})


async def _rewind_in_thread(consumer: Any, tps: set[TP]) -> dict[TP, int | None]:
    """Rewind ``tps`` on the aiokafka consumer (in its thread). Not Faust's ``perform_seek``:
    it moves every partition, changelogs under recovery too. Not aiokafka's
    ``seek_to_committed``: it leaves a partition with no commit, or a commit of 0, where it
    is, which is the very skip this undoes."""
    assigned = consumer.assignment()
    offsets: dict[TP, int | None] = {}
    for tp in tps:
        part = TopicPartition(tp.topic, tp.partition)  # aiokafka checks the type
        if part not in assigned:
            continue  # revoked meanwhile: its next owner starts from the committed offset
        committed = await consumer.committed(part)
        if committed is None or committed < 0:
            await consumer.seek_to_beginning(part)
            offsets[tp] = None
        else:
            consumer.seek(part, committed)
            offsets[tp] = committed
    return offsets


class Consumer(RewindingFetch, InPlaceHandOver, faust_aiokafka.Consumer):
    """Faust's aiokafka consumer; see the module docstring."""

    async def _rewind(self, tps: set[TP]) -> dict[TP, int | None]:
        thread = self._thread
        consumer = thread._ensure_consumer()
        offsets: dict[TP, int | None] = await thread.call_thread(
            _rewind_in_thread, consumer, tps)
        return offsets


def _close(coros: tuple[Any, ...]) -> None:
    for c in coros:  # never started: closing them keeps "never awaited" warnings away
        if inspect.iscoroutine(c):
            c.close()


class Transport(faust_aiokafka.Transport):
    """The aiokafka transport, with the consumer above."""

    Consumer = Consumer
