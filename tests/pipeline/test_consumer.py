"""pipeline.consumer: the fetch loop's hand-over runs in place when it does not block, and
behaves as Faust's ``wait_first`` (a task raced against the suspend/stop events) when it
does."""

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any

from pipeline.app import App
from pipeline.consumer import Consumer, InPlaceHandOver


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
