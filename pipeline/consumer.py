"""Faust's aiokafka consumer with a cheaper hand-over of each fetched message.

Faust's fetch loop hands every fetched message to the conductor through
``Service.wait_first(callback(message), suspend_flow.wait())``: four tasks and an
``asyncio.wait`` per message, so that a rebalance (``suspend_flow``) or a stop can cut a
hand-over short that blocks (flow control suspended, the producer buffer full). Almost every
hand-over never blocks: it decodes the message and puts it in a stream's queue. Here the
callback is first run in place; only when it would block is the rest handed to a task and
raced against the same events, exactly as Faust does. py-spy showed the tasks and loop turns
of ``wait_first`` as the largest share of a bare agent's CPU per message.
"""

from __future__ import annotations

import asyncio
import inspect
import types
from collections.abc import Coroutine, Generator
from typing import Any

from faust.transport.drivers import aiokafka as faust_aiokafka
from mode import Service
from mode.services import WaitResults

__all__ = ["Consumer", "InPlaceHandOver", "Transport", "finish_in_task"]


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


class Consumer(InPlaceHandOver, faust_aiokafka.Consumer):
    """Faust's aiokafka consumer; see the module docstring."""


def _close(coros: tuple[Any, ...]) -> None:
    for c in coros:  # never started: closing them keeps "never awaited" warnings away
        if inspect.iscoroutine(c):
            c.close()


class Transport(faust_aiokafka.Transport):
    """The aiokafka transport, with the consumer above."""

    Consumer = Consumer
