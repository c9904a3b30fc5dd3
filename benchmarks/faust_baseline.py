"""The Faust baselines the pipeline is compared with: one agent on the events topic, built
with the very settings of ``pipeline.app.create_app``.

- ``bare``: split the message into records and parse each (``parse_event``), nothing else;
- ``naive``: the same, plus one table write per event (``table[user] = event``), the
  pattern DESIGN.md warns about (every write is a changelog message).

By default they consume through the app's own transport, as the pipeline does
(``pipeline/consumer.py``: the fetch loop's cheaper hand-over); ``--stock`` swaps in Faust's
own aiokafka transport, to show what Faust costs as shipped.

Run as a child by benchmarks/run.py; prints ``bench.ready`` once its partitions are assigned.

    python benchmarks/faust_baseline.py bare|naive BOOTSTRAP APP_ID [--partitions 2] [--stock]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import types
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import faust

from detectors.errors import EventError
from detectors.events import parse_event
from pipeline import topics
from pipeline.app import create_app
from pipeline.records import split_records
from pipeline.settings import WorkerSettings


def build(mode: str, settings: WorkerSettings, *, stock: bool = False) -> faust.App:
    app = create_app(settings)
    if stock:  # before anything builds the transport: Faust's own, chosen by the broker URL
        app._new_transport = types.MethodType(faust.App._new_transport, app)  # type: ignore[method-assign]
    events = app.topic(topics.EVENTS, key_serializer="raw", value_serializer="raw")
    table = app.Table("bench-naive", key_type=bytes, value_type=bytes,
                      partitions=settings.partitions) if mode == "naive" else None

    async def agent(stream: faust.StreamT) -> None:
        async for value in stream:
            for rec in split_records(value):
                try:
                    event = parse_event(rec)
                except EventError:
                    continue
                if table is not None:
                    table[event.user.encode()] = rec

    app.agent(events, name=f"bench_{mode}")(agent)

    @app.on_rebalance_complete.connect  # type: ignore[arg-type]
    async def _ready(sender: Any, **kwargs: Any) -> None:
        print("bench.ready", flush=True)

    return app


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("mode", choices=["bare", "naive"])
    ap.add_argument("bootstrap")
    ap.add_argument("app_id")
    ap.add_argument("--partitions", type=int, default=2)
    ap.add_argument("--stock", action="store_true", help="Faust's own consumer")
    ns = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        settings = WorkerSettings.model_validate({
            "bootstrap_servers": ns.bootstrap, "app_id": ns.app_id,
            "partitions": ns.partitions, "session_timeout_seconds": 6, "data_dir": Path(tmp)})
        app = build(ns.mode, settings, stock=ns.stock)
        worker = faust.Worker(app, loglevel="warning", redirect_stdouts=False, quiet=True)
        # faust.Worker's terminal spinner sets the root logger to DEBUG for good, so every
        # library debug call builds a LogRecord; a baseline should not pay for that.
        worker.spinner = None
        worker.execute_from_commandline()


if __name__ == "__main__":
    main()
