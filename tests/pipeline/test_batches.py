"""pipeline.batches: a batch is what is ready, up to the limit; no batch waits to fill; the
events are not acked."""

import asyncio
from typing import Any

import faust

from pipeline.batches import ready_batches


def with_channel(body: Any) -> Any:
    async def main() -> Any:
        # Made inside the running loop, which the app then uses (no loop of its own).
        app = faust.App("test-batches", broker="kafka://127.0.0.1:1", store="memory://",
                        web_enabled=False)
        app.flow_control.resume()  # as after a rebalance; nothing reads while suspended
        channel = app.channel(maxsize=100)
        try:
            return await asyncio.wait_for(body(channel, app.stream(channel)), 10)
        finally:
            # Reading a stream makes the app's consumer, whose thread's loop (never started
            # here) would otherwise be left open.
            if app._consumer is not None:
                app._consumer._thread.thread_loop.close()

    return asyncio.run(main())


def test_a_batch_takes_what_is_queued_up_to_the_limit_then_the_rest_next_time() -> None:
    async def body(channel: Any, stream: Any) -> list[list[int]]:
        for i in range(5):
            await channel.send(value=i)
        batches = ready_batches(stream, 3)
        got = [[e.value for e in await batches.__anext__()] for _ in range(2)]
        await batches.aclose()
        return got

    assert with_channel(body) == [[0, 1, 2], [3, 4]]


def test_a_batch_does_not_wait_to_fill_once_it_has_an_event() -> None:
    async def body(channel: Any, stream: Any) -> tuple[list[int], list[int]]:
        batches = ready_batches(stream, 1000)

        async def later() -> None:
            await channel.send(value=1)
            await asyncio.sleep(0.2)
            await channel.send(value=2)

        sender = asyncio.create_task(later())
        loop = asyncio.get_running_loop()
        start = loop.time()
        first = [e.value for e in await batches.__anext__()]
        waited = loop.time() - start
        second = [e.value for e in await batches.__anext__()]
        await sender
        await batches.aclose()
        assert waited < 0.15  # it did not wait for the event sent 0.2 s later
        return first, second

    assert with_channel(body) == ([1], [2])


def test_events_are_left_unacked_and_the_stream_acks_again_afterwards() -> None:
    async def body(channel: Any, stream: Any) -> tuple[list[bool], bool]:
        for i in range(3):
            await channel.send(value=i)
        batches = ready_batches(stream, 10)
        batch = await batches.__anext__()
        await channel.send(value=3)
        batch += await batches.__anext__()  # asking for more acks nothing either
        await batches.aclose()
        return [e.message.acked for e in batch], stream.enable_acks

    acked, acks_restored = with_channel(body)
    assert acked == [False, False, False, False]
    assert acks_restored is True


def test_a_batch_is_not_held_by_a_stale_event_at_the_end_of_the_queue() -> None:
    """Around a rebalance the stream skips events of an earlier consumer generation; asking
    for one more event when only such events are queued would wait for the next arrival."""
    async def body(channel: Any, stream: Any) -> tuple[list[int], list[int]]:
        for i in range(3):
            await channel.send(value=i)
        stream.channel.queue._queue[-1].message.generation_id -= 1  # event 2: older generation
        batches = ready_batches(stream, 10)
        first = [e.value for e in await asyncio.wait_for(batches.__anext__(), 1.0)]
        await channel.send(value=3)
        second = [e.value for e in await asyncio.wait_for(batches.__anext__(), 1.0)]
        await batches.aclose()
        return first, second

    # The first batch stops at once (the newest queued event would be skipped); the next one
    # goes on past the stale event, which the stream skips as Faust does, once a fresh one
    # is queued behind it.
    assert with_channel(body) == ([0], [1, 3])
