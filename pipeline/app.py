"""The Faust app object, bare: built by a factory so importing reads no settings."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import faust

from pipeline.consumer import Transport
from pipeline.kafka import MAX_MESSAGE_BYTES
from pipeline.settings import WorkerSettings

__all__ = ["App", "create_app", "raw_topic", "tune_fetch_wait"]

log = logging.getLogger("accessguard")


#: How long each before-stop hook may take (a flush waits for the broker).
BEFORE_STOP_TIMEOUT = 10.0


class App(faust.App):
    """A Faust app that runs ``before_stop`` coroutines first when it stops, while its
    consumer, producer and agents still run: the detect agents flush the state they hold
    and ack the events it covers there, so Faust's own wait for unacked events (and the
    final commit) find nothing left behind.

    If a hook fails or times out (the broker is gone, say), its events stay unacked and are
    redone after a restart. Faust's own wait for unacked events (``stream_wait_empty``) is
    off: events still in a take buffer, not yet handed to an agent, would never be acked and
    it would wait forever; they too are redone after a restart (at-least-once)."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.before_stop: list[Callable[[], Awaitable[None]]] = []

    def _new_transport(self) -> Transport:
        # Faust's own aiokafka transport, with a cheaper per-message hand-over
        # (pipeline/consumer.py); Faust picks the transport from the broker URL otherwise.
        return Transport(self.conf.broker_consumer, self)

    async def on_stop(self) -> None:
        for hook in self.before_stop:
            try:
                await asyncio.wait_for(hook(), BEFORE_STOP_TIMEOUT)
            except Exception:  # incl. the timeout: those events are redone after a restart
                log.exception("before-stop flush failed; its events will be redone")
        await super().on_stop()


def create_app(settings: WorkerSettings) -> App:
    brokers = [f"kafka://{hp}" for hp in settings.bootstrap_servers.split(",")]
    return App(
        settings.app_id,
        broker=brokers,
        broker_credentials=settings.kafka_security().faust_credentials(),
        store="memory://",
        datadir=str(settings.data_dir),
        processing_guarantee="at_least_once",
        broker_session_timeout=settings.session_timeout_seconds,
        broker_heartbeat_interval=settings.heartbeat_interval_seconds,
        broker_commit_interval=1.0,
        consumer_auto_offset_reset="earliest",
        topic_partitions=settings.partitions,
        topic_replication_factor=settings.replication_factor,
        table_standby_replicas=0,
        web_enabled=settings.web_port > 0,
        web_port=settings.web_port or 6066,
        web_bind=settings.web_host,
        web_host=settings.web_host,
        web_tables_enabled=False,  # table contents are audit data
        producer_acks=-1,
        stream_wait_empty=False,  # see App
        producer_linger=0.001,  # latency: each of an alert's hops waits this long
        # Faust waits 20 minutes by default for a produce response (Kafka's own clients: 30 s);
        # an unanswered request would hold the agents, which wait for their sends, that long.
        producer_request_timeout=30.0,
        producer_max_request_size=MAX_MESSAGE_BYTES,
        consumer_max_fetch_size=MAX_MESSAGE_BYTES,
    )


def raw_topic(app: faust.App, name: str) -> faust.TopicT:
    """A topic whose keys and values are bytes: the agents decode and validate themselves."""
    return app.topic(name, key_serializer="raw", value_serializer="raw")


def tune_fetch_wait(app: faust.App, max_wait_ms: int) -> bool:
    """Shorten how long a fetch may wait for data. Faust hard-codes 1.5 s with no setting;
    a broker that does not answer early when data arrives (the embedded one) then adds up to
    that much to every hop between agents. Call once the consumer exists (on assignment).
    Returns whether it could be applied."""
    thread = getattr(app.consumer, "_thread", None)
    fetcher = getattr(getattr(thread, "_consumer", None), "_fetcher", None)
    if fetcher is None or not hasattr(fetcher, "_fetch_max_wait_ms"):
        return False
    fetcher._fetch_max_wait_ms = max_wait_ms
    return True
