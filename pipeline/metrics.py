"""Prometheus metrics, ``/health`` and ``/ready`` on the worker's web server.

Counters the agents already keep are read at scrape time by a collector, so the hot path
gains no metric calls; the delivery latency histogram is observed per delivery. Consumer lag
and state sizes are computed per scrape over this worker's partitions.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.registry import Collector

from pipeline.agents import Counters
from pipeline.alerting import AlertCounters
from pipeline.live import Live

__all__ = ["Metrics", "install_pages"]

CONTENT_TYPE = "text/plain; version=0.0.4"  # aiohttp adds the charset itself


class _Collector(Collector):
    def __init__(self, metrics: Metrics) -> None:
        self.m = metrics

    def collect(self) -> Iterator[Any]:
        c, a = self.m.counters, self.m.alerting
        ev = CounterMetricFamily("accessguard_events", "input events by result",
                                 labels=["result"])
        ev.add_metric(["accepted"], c.events_in - c.dead_lettered - c.rekeyed)
        ev.add_metric(["dead_lettered"], c.dead_lettered)
        ev.add_metric(["rekeyed"], c.rekeyed)
        yield ev
        f = CounterMetricFamily("accessguard_findings", "findings by detector",
                                labels=["detector"])
        for name, n in sorted(c.findings.items()):
            f.add_metric([name], n)
        yield f
        d = CounterMetricFamily("accessguard_alert_decisions", "alert lifecycle decisions",
                                labels=["decision"])
        for name, n in sorted(a.decisions.items()):
            d.add_metric([name], n)
        yield d
        dl = CounterMetricFamily("accessguard_deliveries", "notification deliveries by "
                                 "result", labels=["result"])
        dl.add_metric(["delivered"], a.delivered)
        dl.add_metric(["dead_lettered"], a.dead_lettered)
        yield dl
        ar = CounterMetricFamily("accessguard_archive_records", "records archived")
        ar.add_metric([], self.m.archived())
        yield ar
        lag = GaugeMetricFamily("accessguard_consumer_lag", "messages behind the partition "
                                "end", labels=["topic", "partition"])
        for (topic, part), n in sorted(self.m.lag.items()):
            lag.add_metric([topic, str(part)], n)
        yield lag
        keys = GaugeMetricFamily("accessguard_state_keys", "keys held per table",
                                 labels=["table"])
        size = GaugeMetricFamily("accessguard_state_bytes", "encoded bytes held per table",
                                 labels=["table"])
        for table, (n, b) in sorted(self.m.state_sizes().items()):
            keys.add_metric([table], n)
            size.add_metric([table], b)
        yield keys
        yield size
        v = GaugeMetricFamily("accessguard_config_version", "config version in force")
        v.add_metric([], self.m.live.version)
        yield v
        r = GaugeMetricFamily("accessguard_ready", "1 when partitions are assigned and "
                              "tables recovered")
        r.add_metric([], 1.0 if self.m.ready else 0.0)
        yield r


class Metrics:
    def __init__(self, live: Live, archived: Callable[[], int]) -> None:
        self.live = live
        self.archived = archived
        self.counters = Counters()
        self.alerting = AlertCounters()
        self.tables: dict[str, Any] = {}
        self.ready = False
        self.started = time.monotonic()
        self.lag: dict[tuple[str, int], int] = {}
        self.registry = CollectorRegistry()
        self.delivery_seconds = Histogram(
            "accessguard_delivery_seconds", "time to deliver one notification (retries "
            "included)", ["destination"], registry=self.registry,
            buckets=(0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120))
        self.registry.register(_Collector(self))

    def attach(self, counters: Counters, alerting: AlertCounters, tables: dict[str, Any]
               ) -> None:
        """The agents' counters and the app's tables, once they exist."""
        self.counters, self.alerting, self.tables = counters, alerting, tables

    def observe_delivery(self, destination: str, seconds: float) -> None:
        self.delivery_seconds.labels(destination).observe(seconds)

    def state_sizes(self) -> dict[str, tuple[int, int]]:
        out = {}
        for name, table in self.tables.items():
            data = table.data
            out[name] = (len(data), sum(len(v) for v in data.values()))
        return out

    def render(self) -> bytes:
        return bytes(generate_latest(self.registry))


def install_pages(app: Any, metrics: Metrics) -> None:
    """``/metrics`` (Prometheus text), ``/health`` (the loop answers), ``/ready`` (503 until
    partitions are assigned and tables recovered)."""

    async def refresh_lag() -> None:
        consumer = app.consumer
        lag: dict[tuple[str, int], int] = {}
        for tp in consumer.assignment():
            pos = await consumer.position(tp)
            high = consumer.highwater(tp)
            if pos is not None and high is not None:
                lag[(tp.topic, tp.partition)] = max(int(high) - int(pos), 0)
        metrics.lag = lag

    @app.page("/metrics")
    async def _metrics(web: Any, request: Any) -> Any:
        await refresh_lag()
        return web.text(metrics.render().decode(), content_type=CONTENT_TYPE)

    @app.page("/health")
    async def _health(web: Any, request: Any) -> Any:
        return web.json({"status": "ok",
                         "uptime_seconds": round(time.monotonic() - metrics.started, 1)})

    @app.page("/ready")
    async def _ready(web: Any, request: Any) -> Any:
        if metrics.ready:
            return web.json({"ready": True, "config_version": metrics.live.version})
        return web.json({"ready": False}, status=503)
