"""Run the pipeline: create topics, build the app, start a Faust worker until stopped."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import time
from dataclasses import dataclass
from typing import Any

import httpx

from alerts.config import AlertsConfig, RetryConfig, WebhookDestinationConfig
from alerts.delivery import Dispatcher
from alerts.destinations import build_senders
from alerts.errors import AlertsError
from detectors.engine import Engine
from detectors.errors import ConfigError
from detectors.geo import GeoIP2FastLookup, GeoLookup
from pipeline import topics
from pipeline.agents import Topology, build_topology
from pipeline.alerting import AlertCounters, EventClock, build_alerting
from pipeline.app import create_app, tune_fetch_wait
from pipeline.archive import signing_key
from pipeline.audit import Audit
from pipeline.config import AppConfig, load_app_config, parse_app_config
from pipeline.kafka import ensure_topics
from pipeline.live import Live
from pipeline.logs import get_logger, log_event
from pipeline.metrics import Metrics, install_pages
from pipeline.models import restore_models, save_models
from pipeline.settings import WorkerSettings

__all__ = ["Worker", "build_worker", "run_worker", "with_webhook_shortcut"]

WEBHOOK_ENV = "ACCESSGUARD_WEBHOOK_URL"
SIGNING_ENV = "ACCESSGUARD_WEBHOOK_SIGNING_SECRET"  # optional: Standard Webhooks signatures


def with_webhook_shortcut(cfg: AlertsConfig, url: str | None, settings: WorkerSettings
                          ) -> AlertsConfig:
    """``ACCESSGUARD_WEBHOOK_URL`` adds a generic webhook destination ``webhook`` to the root
    route (so it gets every alert no child route takes) and allows its host; with
    ``ACCESSGUARD_WEBHOOK_SIGNING_SECRET`` (``whsec_...``) its requests are signed."""
    if url is None or "webhook" in cfg.destinations:
        return cfg
    signing = [SIGNING_ENV] if os.environ.get(SIGNING_ENV) else []
    dest = WebhookDestinationConfig(
        kind="webhook", url_env=WEBHOOK_ENV, signing_secrets_env=signing,
        retry=RetryConfig(attempts=settings.delivery_attempts,
                          max_seconds=settings.delivery_max_backoff_seconds),
    )
    host = httpx.URL(url).host.lower()
    root = cfg.routes.model_copy(update={"destinations": (*cfg.routes.destinations, "webhook")})
    return cfg.model_copy(update={
        "destinations": {**cfg.destinations, "webhook": dest},
        "routes": root,
        "allowed_hosts": (*cfg.allowed_hosts, host),
    })


@dataclass
class Worker:
    topology: Topology
    alerting: AlertCounters
    live: Live
    config: AppConfig
    audit: Audit
    metrics: Metrics


def open_audit(settings: WorkerSettings, log: logging.Logger) -> Audit:
    if settings.archive_dir is None:
        return Audit()
    key = signing_key(settings.archive_key_file, os.environ)
    return Audit.open(settings.archive_dir, settings.worker_name, key, log,
                      max_segment_bytes=settings.archive_segment_bytes,
                      max_segment_seconds=settings.archive_segment_seconds)


def make_live(config: AppConfig, settings: WorkerSettings, geo: GeoLookup,
              version: int = 1) -> Live:
    """Engine, alerts config and destinations for a config; raises on any problem."""
    url = settings.webhook_url.get_secret_value() if settings.webhook_url else None
    env = dict(os.environ)
    if url is not None:
        env[WEBHOOK_ENV] = url
    alerts_cfg = with_webhook_shortcut(config.alerts, url, settings)
    dispatcher = Dispatcher(build_senders(alerts_cfg, env=env))
    return Live(Engine(config.detectors, geo=geo), alerts_cfg, dispatcher, version)


def build_worker(settings: WorkerSettings, log: logging.Logger) -> Worker:
    """Everything but Kafka I/O: config, engine, destinations, app, agents. Raises on any
    config or destination problem before the worker touches the cluster."""
    config = load_app_config(settings.config_path)
    geo = GeoIP2FastLookup.load()
    live = make_live(config, settings, geo)
    models_dir = settings.data_dir / "models"
    restore_models(live.engine, models_dir, log)
    audit = open_audit(settings, log)
    text = settings.config_path.read_text() if settings.config_path else ""
    audit.config(settings.config_path, text, "loaded at start")
    app = create_app(settings)
    clock = EventClock()
    topology = build_topology(app, settings, live, clock, log, audit)
    metrics = Metrics(live, lambda: audit.records)
    counters = build_alerting(app, live, clock, log, partitions=settings.partitions,
                              audit=audit, on_delivery=metrics.observe_delivery)
    metrics.attach(topology.counters, counters, dict(app.tables.items()))
    if settings.web_port:
        install_pages(app, metrics)
    if settings.config_path is not None and settings.config_reload_seconds > 0:
        watch_config(app, settings, live, geo, audit, log, text)

    async def checkpoint() -> None:
        save_models(live.engine, models_dir, log)

    if settings.model_checkpoint_seconds > 0 and live.engine.checkpoint():
        app.timer(interval=settings.model_checkpoint_seconds, name="checkpoint_models")(
            checkpoint)
    return Worker(topology, counters, live, config, audit, metrics)


def watch_config(app: Any, settings: WorkerSettings, live: Live, geo: GeoLookup,
                 audit: Audit, log: logging.Logger, text: str) -> None:
    """Hot reload: re-read the config file when its content changes. A valid config is
    swapped in for the next batch (and audited); an invalid one is logged, the old one stays.
    """
    path = settings.config_path
    assert path is not None
    seen = {"text": text}
    closing: set[asyncio.Future[None]] = set()  # keeps the close tasks referenced

    async def check() -> None:
        try:
            new_text = path.read_text(encoding="utf-8")
        except OSError as exc:
            if seen.get("error") != str(exc):
                seen["error"] = str(exc)
                log_event(log, "config.unreadable", level=logging.ERROR, path=str(path),
                          reason=exc.strerror or str(exc))
            return
        if new_text == seen["text"]:
            return
        seen["text"] = new_text
        try:
            fresh = make_live(parse_app_config(new_text, source=str(path)), settings, geo,
                              live.version + 1)
        except (ConfigError, AlertsError) as exc:
            problems = exc.problems if isinstance(exc, ConfigError) else [str(exc)]
            log_event(log, "config.rejected", level=logging.ERROR, path=str(path),
                      problems=problems, kept_version=live.version)
            audit.config(path, new_text, "rejected: " + "; ".join(problems))
            return
        with contextlib.suppress(ValueError):  # a changed model setup starts fresh
            fresh.engine.restore(live.engine.checkpoint())
        old = live.dispatcher
        live.engine, live.alerts, live.dispatcher = fresh.engine, fresh.alerts, fresh.dispatcher
        live.version = fresh.version
        audit.config(path, new_text, f"reloaded as version {live.version}")
        log_event(log, "config.reloaded", path=str(path), version=live.version,
                  detectors=list(live.engine.detector_names))
        closing.add(asyncio.ensure_future(close_later(old)))

    async def close_later(old: Dispatcher) -> None:
        await asyncio.sleep(30)  # let deliveries in flight on the old destinations finish
        await old.aclose()

    app.timer(interval=settings.config_reload_seconds, name="watch_config")(check)


def tune_gc(gen0_threshold: int) -> None:
    """Keep the cyclic garbage collector from rescanning what the worker holds for good.

    Everything alive once the worker is ready (libraries, models, the geo database,
    recovered tables) is moved out of the collector's reach (``gc.freeze``), and the
    youngest generation is collected after ``gen0_threshold`` allocations instead of
    Python's 700: the event path makes few reference cycles, and at 700 a full batch
    triggers hundreds of collections. Measured: about a fifth of the worker's CPU per event
    (benchmarks/run.py, pipeline_cpu_us_per_event). 0 keeps Python's thresholds.
    """
    gc.collect()
    gc.freeze()
    if gen0_threshold:
        _, gen1, gen2 = gc.get_threshold()
        gc.set_threshold(gen0_threshold, gen1, gen2)


def run_worker(settings: WorkerSettings) -> int:
    """Block running the worker; returns its exit code."""
    import faust

    started = time.monotonic()
    log = get_logger()
    built = build_worker(settings, log)
    asyncio.run(ensure_topics(settings.bootstrap_servers, topics.ALL,
                              partitions=settings.partitions,
                              replication_factor=settings.replication_factor,
                              security=settings.kafka_security()))
    app = built.topology.app
    ready = {"done": False}
    ready_file = settings.data_dir / "ready"  # what a container health check looks at
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    ready_file.unlink(missing_ok=True)

    @app.on_rebalance_complete.connect  # type: ignore[arg-type]  # mode types a union mypy cannot match
    async def _ready(sender: Any, *args: Any, **kwargs: Any) -> None:
        assigned = sorted(f"{tp.topic}:{tp.partition}" for tp in app.consumer.assignment())
        event = "worker.ready" if not ready["done"] else "worker.rebalanced"
        if not ready["done"]:
            tune_gc(settings.gc_gen0_threshold)
        ready["done"] = True
        built.metrics.ready = True
        ready_file.touch()
        log_event(log, event, seconds=round(time.monotonic() - started, 2),
                  partitions=len(assigned),
                  detectors=list(built.live.engine.detector_names))

    @app.on_partitions_assigned.connect  # type: ignore[arg-type]  # (same)
    async def _tune(sender: Any, *args: Any, **kwargs: Any) -> None:
        if not tune_fetch_wait(app, settings.fetch_max_wait_ms):
            log_event(log, "consumer.fetch_wait_not_tuned", level=logging.WARNING)

    @app.on_partitions_revoked.connect  # type: ignore[arg-type]  # (same)
    async def _not_ready(sender: Any, *args: Any, **kwargs: Any) -> None:
        built.metrics.ready = False  # until the rebalance completes

    @app.on_before_shutdown.connect  # type: ignore[arg-type]  # (same)
    async def _close(sender: Any, *args: Any, **kwargs: Any) -> None:
        await built.live.dispatcher.aclose()

    log_event(log, "worker.starting", bootstrap=settings.bootstrap_servers,
              app_id=settings.app_id, detectors=list(built.live.engine.detector_names),
              destinations=sorted(built.live.dispatcher.senders))
    faust_level = "debug" if settings.log_level == "debug" else "warning"
    worker = faust.Worker(app, loglevel=faust_level, redirect_stdouts=False, quiet=True)
    worker.spinner = None  # its presence keeps the root logger at DEBUG: ~13 % of CPU
    try:
        worker.execute_from_commandline()
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 0
    else:
        code = 0
    ready_file.unlink(missing_ok=True)
    save_models(built.live.engine, settings.data_dir / "models", log)
    built.audit.close()  # seals the open segment
    c, a = built.topology.counters, built.alerting
    log_event(log, "worker.stopped", exit_code=code, events_in=c.events_in,
              dead_lettered=c.dead_lettered, decisions=a.decisions,
              delivered=a.delivered, alerts_dead_lettered=a.dead_lettered,
              archived=built.audit.records)
    return code
