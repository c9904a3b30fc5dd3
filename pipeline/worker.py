"""Run the pipeline: create topics, build the app, start a Faust worker until stopped."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

from alerts.delivery import RetryPolicy, WebhookSender
from detectors.config import Config, default_config, load_config
from detectors.engine import Engine
from detectors.geo import GeoIP2FastLookup
from pipeline import topics
from pipeline.agents import Topology, build_topology
from pipeline.app import create_app
from pipeline.kafka import ensure_topics
from pipeline.logs import get_logger, log_event
from pipeline.settings import WorkerSettings

__all__ = ["build_worker_topology", "run_worker"]


def load_detector_config(settings: WorkerSettings) -> Config:
    return load_config(settings.config_path) if settings.config_path else default_config()


def build_worker_topology(settings: WorkerSettings, log: logging.Logger) -> Topology:
    engine = Engine(load_detector_config(settings), geo=GeoIP2FastLookup.load())
    sender = None
    if settings.webhook_url is not None:
        sender = WebhookSender(
            settings.webhook_url.get_secret_value(),
            retry=RetryPolicy(attempts=settings.delivery_attempts,
                              max_seconds=settings.delivery_max_backoff_seconds),
        )
    return build_topology(create_app(settings), settings, engine, sender, log)


def run_worker(settings: WorkerSettings) -> int:
    """Block running the worker; returns its exit code."""
    import faust

    started = time.monotonic()
    log = get_logger()
    topo = build_worker_topology(settings, log)  # validates the config before touching Kafka
    asyncio.run(ensure_topics(settings.bootstrap_servers, topics.ALL,
                              partitions=settings.partitions,
                              replication_factor=settings.replication_factor))
    app = topo.app
    ready = {"done": False}
    ready_file = settings.data_dir / "ready"  # what a container health check looks at
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ready_file.unlink(missing_ok=True)

    @app.on_rebalance_complete.connect
    async def _ready(sender: Any, **kwargs: Any) -> None:
        assigned = sorted(f"{tp.topic}:{tp.partition}" for tp in app.consumer.assignment())
        event = "worker.ready" if not ready["done"] else "worker.rebalanced"
        ready["done"] = True
        ready_file.touch()
        log_event(log, event, seconds=round(time.monotonic() - started, 2),
                  partitions=len(assigned), detectors=list(topo.engine.detector_names))

    log_event(log, "worker.starting", bootstrap=settings.bootstrap_servers,
              app_id=settings.app_id, detectors=list(topo.engine.detector_names),
              webhook=settings.webhook_url is not None)
    faust_level = "debug" if settings.log_level == "debug" else "warning"
    worker = faust.Worker(app, loglevel=faust_level, redirect_stdouts=False, quiet=True)
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    else:
        code = 0
    ready_file.unlink(missing_ok=True)
    log_event(log, "worker.stopped", exit_code=code, events_in=topo.counters.events_in,
              dead_lettered=topo.counters.dead_lettered,
              alerts_delivered=topo.counters.alerts_delivered,
              alerts_dead_lettered=topo.counters.alerts_dead_lettered)
    return code
