"""Helpers for end-to-end tests and benchmarks: a worker child process on a broker, and
waiting until a consumer group has committed what was produced."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from aiokafka import AIOKafkaConsumer, TopicPartition

from pipeline.broker import free_port
from pipeline.demo import WorkerProcess

__all__ = ["committed_total", "start_worker", "wait_committed"]


def start_worker(bootstrap: str, workdir: Path, *, app_id: str, webhook_url: str | None = None,
                 partitions: int = 2, extra_env: dict[str, str] | None = None,
                 ready_timeout: float = 60.0) -> WorkerProcess:
    env = {
        "ACCESSGUARD_BOOTSTRAP_SERVERS": bootstrap,
        "ACCESSGUARD_SESSION_TIMEOUT_SECONDS": "6",
        "ACCESSGUARD_PARTITIONS": str(partitions),
        "ACCESSGUARD_DATA_DIR": str(workdir / "data"),
        "ACCESSGUARD_APP_ID": app_id,
        "ACCESSGUARD_DELIVERY_MAX_BACKOFF_SECONDS": "1",
        "ACCESSGUARD_WEB_PORT": str(free_port()),
        "ACCESSGUARD_CHANGELOG_END_MARKERS": "true",  # the embedded broker's end offsets
        **(extra_env or {}),
    }
    if webhook_url:
        env["ACCESSGUARD_WEBHOOK_URL"] = webhook_url
    workdir.mkdir(parents=True, exist_ok=True)
    n = len(list(workdir.glob("worker-*.log")))
    worker = WorkerProcess(env, workdir / f"worker-{n}.log")
    try:
        worker.wait_for("worker.ready", ready_timeout)
    except Exception:
        worker.kill()
        raise
    return worker


async def committed_total(bootstrap: str, group: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                enable_auto_commit=False)
    await consumer.start()
    try:
        parts = consumer.partitions_for_topic(topic) or set()
        total = 0
        for p in parts:
            off = await consumer.committed(TopicPartition(topic, p))
            total += off or 0
        return total
    finally:
        await consumer.stop()


def wait_committed(bootstrap: str, group: str, topic: str, expected: int,
                   timeout_seconds: float = 30.0) -> int:
    """Poll until the group's committed offsets on ``topic`` add up to ``expected``."""
    deadline = time.monotonic() + timeout_seconds
    got = 0
    while time.monotonic() < deadline:
        got = asyncio.run(committed_total(bootstrap, group, topic))
        if got >= expected:
            return got
        time.sleep(0.5)
    return got
