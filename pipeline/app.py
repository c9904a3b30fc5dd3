"""The Faust app object, bare: built by a factory so importing reads no settings."""

from __future__ import annotations

import faust

from pipeline.kafka import MAX_MESSAGE_BYTES
from pipeline.settings import WorkerSettings

__all__ = ["create_app"]


def create_app(settings: WorkerSettings) -> faust.App:
    brokers = [f"kafka://{hp}" for hp in settings.bootstrap_servers.split(",")]
    return faust.App(
        settings.app_id,
        broker=brokers,
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
        web_enabled=False,
        web_tables_enabled=False,  # table contents are audit data
        producer_acks=-1,
        producer_linger=0.005,
        producer_max_request_size=MAX_MESSAGE_BYTES,
        consumer_max_fetch_size=MAX_MESSAGE_BYTES,
    )
