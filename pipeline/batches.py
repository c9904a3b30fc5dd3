"""Batches of the events that are ready, for the detect agents.

Faust's ``take(max, within)`` hands over a batch when it is full or every ``within`` seconds,
so an event waits in its buffer for half of ``within`` on average even when the agent has
nothing else to do. Here the agent waits for one event, then takes every event already
queued behind it (up to ``max_events``) without waiting for more: an idle agent sees an
event at once, and a busy one gets larger batches on its own, because events queue up while
it works on the previous batch. The stream's queue bounds the wait: when it fills, Faust
stops fetching the partition until it drains.

The events are not acked here (as with Faust's ``noack_take``): the caller acks them once
what they caused is durable.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from faust.types import EventT

__all__ = ["ready_batches"]


async def ready_batches(stream: Any, max_events: int) -> AsyncIterator[list[EventT]]:
    """Batches of up to ``max_events`` events of ``stream``: each waits for its first event
    only. ``stream`` must read a channel (an agent's stream does)."""
    queue = stream.channel.queue
    app = stream.app
    saved_acks = stream.enable_acks
    stream.enable_acks = False  # the caller acks
    events = stream.events().__aiter__()
    try:
        while True:
            try:
                batch = [await events.__anext__()]
                while len(batch) < max_events and _next_is_ready(queue, app):
                    batch.append(await events.__anext__())
            except StopAsyncIteration:
                return
            yield batch
    finally:
        stream.enable_acks = saved_acks
        await events.aclose()


def _next_is_ready(queue: Any, app: Any) -> bool:
    """Whether the stream can give another event without waiting. The stream skips queued
    events of an earlier consumer generation, or any while flow control is off (around a
    rebalance); if the newest queued one is not skipped, the stream stops there at the
    latest. Otherwise asking could wait for the next event to arrive, holding the batch."""
    if queue.empty():
        return False
    newest = queue._queue[-1]  # asyncio.Queue's deque
    message = getattr(newest, "message", None)
    if message is None:
        return True
    return bool(app.flow_control.is_active()
                and message.generation_id == app.consumer_generation_id)
