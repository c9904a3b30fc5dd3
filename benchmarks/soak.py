"""Soak: one worker for N minutes at half of its max rate; is its memory flat?

    python benchmarks/soak.py [--minutes 30] [--rate EVENTS_PER_S] [--send-every 0.5]
                              [--bootstrap HOST:PORT]

Without ``--rate`` the max rate is measured first (benchmarks/run.py's pre-loaded pipeline
measure) and half of it is used. The scenario's events are replayed in cycles, each cycle
with fresh event ids and shifted a scenario span later in event time, so state keeps moving
like live traffic; a brute-force burst every second keeps alerts flowing to a local webhook.
The worker's RSS and the group's committed offsets are sampled every 10 s; memory counts as
flat when no sample after the warm-up (the first fifth of the run, at least one sample)
exceeds the first sample after it by more than 10 %, and the run only counts when the worker
kept up: everything sent is committed within a minute of the last send. The run stops
early, as not kept up, once ``--give-up-seconds`` of events are waiting. Not part of the
test suite.

The load generator sends what is due every ``--send-every`` seconds (default 0.5), each send
one record batch per partition, as a shipper that flushes on an interval does; the worker
sees the same events per second either way. The interval matters to the embedded broker,
not to the worker: Tansu keeps every batch as an object, with no retention, and lists all
of a partition's batches on every fetch, so its CPU grows with the number of batches. With
a send every 5 ms it stalled after ~4-5 minutes at half the max rate (docs/performance.md);
a real Kafka (``--bootstrap``, e.g. docker-compose's) has neither limit.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import itertools
import json
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiokafka import AIOKafkaConsumer, TopicPartition

from benchmarks import run as bench
from benchmarks.harness import (
    cpu_seconds,
    keyed_lines,
    load_average,
    rss_bytes,
    scenario_events,
)
from detectors.events import AccessEvent
from detectors.findings import utc
from pipeline import topics
from pipeline.broker import EmbeddedBroker
from pipeline.kafka import ensure_topics, make_producer
from pipeline.receiver import WebhookReceiver

SAMPLE_SECONDS = 10.0
SEND_EVERY_SECONDS = 0.5  # the load generator's send interval (see the docstring)
FLAT = 0.10


def cycles(events: Sequence[AccessEvent]) -> Iterator[tuple[bytes, bytes]]:
    """The events forever: cycle *c* has ids suffixed ``-cC`` and times shifted by c spans."""
    first, last = events[0].ts, events[-1].ts
    span = last - first + 1.0
    yield from keyed_lines(events)
    for c in itertools.count(1):
        for ev in events:
            doc: dict[str, Any] = json.loads(ev.to_json())
            doc["event_id"] = f"{ev.event_id}-c{c}"
            doc["timestamp"] = utc(ev.ts + c * span).isoformat()
            yield ev.user.encode(), json.dumps(doc, separators=(",", ":")).encode()


def flat_verdict(samples: Sequence[tuple[float, int]], warmup_seconds: float
                 ) -> tuple[bool, float, int]:
    """(flat?, worst growth over the baseline, baseline bytes) for (seconds, rss) samples.

    >>> flat_verdict([(0, 90), (10, 100), (20, 104), (30, 109)], 10)
    (True, 0.09, 100)
    >>> flat_verdict([(0, 90), (10, 100), (20, 120)], 10)[0]
    False
    """
    after = [rss for t, rss in samples if t >= warmup_seconds] or [samples[-1][1]]
    base = after[0]
    growth = round(max(after) / base - 1, 4)
    return growth <= FLAT, growth, base


class Committed:
    """The consumer group's committed offsets on the input topic, summed."""

    def __init__(self, bootstrap: str, group: str) -> None:
        self.consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, group_id=group,
                                         enable_auto_commit=False)

    async def __aenter__(self) -> Committed:
        await self.consumer.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.consumer.stop()

    async def total(self) -> int:
        parts = sorted(self.consumer.partitions_for_topic(topics.EVENTS) or ())
        return sum([await self.consumer.committed(TopicPartition(topics.EVENTS, p)) or 0
                    for p in parts])


async def soak(bootstrap: str, group: str, pid: int, stream: Iterator[tuple[bytes, bytes]],
               rate: float, seconds: float, *, broker_pid: int | None = None,
               give_up_lag: float = float("inf"), send_every: float = SEND_EVERY_SECONDS
               ) -> tuple[list[tuple[float, int]], int, int]:
    """(RSS samples, messages sent, committed within a minute of the last send)."""
    async with Committed(bootstrap, group) as committed:
        samples, sent = await _soak(bootstrap, committed, pid, stream, rate, seconds,
                                    broker_pid, give_up_lag, send_every)
        done = await committed.total()
        deadline = time.monotonic() + 60
        while done < sent and time.monotonic() < deadline:
            await asyncio.sleep(1)
            done = await committed.total()
    return samples, sent, done


async def _soak(bootstrap: str, committed: Committed, pid: int,
                stream: Iterator[tuple[bytes, bytes]], rate: float, seconds: float,
                broker_pid: int | None, give_up_lag: float, send_every: float
                ) -> tuple[list[tuple[float, int]], int]:
    producer = await make_producer(bootstrap)
    pending: list[asyncio.Future[Any]] = []
    samples: list[tuple[float, int]] = []
    start = time.monotonic()
    sent, bursts = 0, 0
    next_sample = 0.0
    try:
        while (elapsed := time.monotonic() - start) < seconds:
            for _ in range(int(elapsed * rate) - sent):
                key, value = next(stream)
                pending.append(await producer.send(topics.EVENTS, value=value, key=key))
                sent += 1
            if elapsed >= bursts + 0.5:
                for ev in bench.burst(bursts, time.time()):
                    pending.append(await producer.send(topics.EVENTS, value=ev.to_json(),
                                                       key=ev.user.encode()))
                bursts += 1
            if elapsed >= next_sample:
                samples.append((elapsed, rss_bytes(pid)))
                total = sent + 5 * bursts
                lag = total - await committed.total()
                broker = ("" if broker_pid is None else
                          f"  broker rss={rss_bytes(broker_pid) / 2**20:7.1f} MiB "
                          f"cpu={cpu_seconds(broker_pid):6.0f} s")
                print(f"  t={elapsed:6.0f} s  rss={samples[-1][1] / 2**20:7.1f} MiB  "
                      f"sent={total}  lag={lag}{broker}", flush=True)
                next_sample += SAMPLE_SECONDS
                if lag > give_up_lag:
                    print(f"  giving up: {lag} messages behind (over {give_up_lag:.0f})",
                          flush=True)
                    break
            if len(pending) > 2000:
                await asyncio.gather(*pending)
                pending.clear()
            await asyncio.sleep(send_every)
        await asyncio.gather(*pending)
        samples.append((time.monotonic() - start, rss_bytes(pid)))
    finally:
        await producer.stop()
    return samples, sent + 5 * bursts


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--minutes", type=float, default=30.0)
    ap.add_argument("--rate", type=float, help="events/s (default: half of the measured max)")
    ap.add_argument("--users", type=int, default=600)
    ap.add_argument("--hours", type=float, default=4.0)
    ap.add_argument("--bootstrap", help="a running Kafka (e.g. docker-compose's) instead of the "
                    "embedded broker; topics are created if missing")
    ap.add_argument("--give-up-seconds", type=float, default=120.0,
                    help="stop early once this many seconds of events are not yet committed")
    ap.add_argument("--send-every", type=float, default=SEND_EVERY_SECONDS, metavar="SECONDS",
                    help="how often the load generator sends what is due: each send is one "
                    f"record batch per partition (default {SEND_EVERY_SECONDS:g})")
    ns = ap.parse_args(argv)
    la = load_average()
    print(f"soak: {ns.minutes:g} min; load average {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}; "
          f"started {datetime.now().isoformat(timespec='seconds')}", flush=True)
    events = scenario_events(ns.users, ns.hours)
    with tempfile.TemporaryDirectory(prefix="accessguard-soak-") as tmp:
        run = bench.Run(Path(tmp), None)
        rate = ns.rate
        if rate is None:
            print("measuring the max rate (pre-loaded topic, one worker) ...", flush=True)
            top = bench.preloaded_worker_rate(run, "soak-max", keyed_lines(events), len(events),
                                              20.0)
            rate = top.eps / 2
            print(f"  max {top.text()}; soaking at {rate:.0f} events/s", flush=True)
        with contextlib.ExitStack() as stack:
            receiver = stack.enter_context(WebhookReceiver())
            broker = None if ns.bootstrap else stack.enter_context(EmbeddedBroker())
            bootstrap = ns.bootstrap or broker.bootstrap  # type: ignore[union-attr]
            asyncio.run(ensure_topics(bootstrap, topics.ALL, partitions=bench.PARTITIONS))
            group = bench.group_id("soak")
            worker = run.start_worker(bootstrap, group, webhook_url=receiver.url)
            try:
                samples, sent, done = asyncio.run(soak(
                    bootstrap, group, worker.proc.pid, cycles(events), rate, ns.minutes * 60,
                    broker_pid=broker.pid if broker is not None else None,
                    give_up_lag=rate * ns.give_up_seconds, send_every=ns.send_every))
            finally:
                worker.stop()
            alerts = len(receiver.accepted())
    ran = samples[-1][0] if samples else 0.0  # shorter than asked when it gave up
    warmup = max(ran / 5, SAMPLE_SECONDS)
    flat, growth, base = flat_verdict(samples, warmup)
    series = ", ".join(f"{t:.0f}s:{rss / 2**20:.1f}" for t, rss in samples)
    print(f"rss series (MiB): {series}")
    kept_up = done >= sent
    print(f"{alerts} webhook posts received; {done} of {sent} messages committed within a "
          f"minute of the last send ({'kept up' if kept_up else 'did NOT keep up'}); after "
          f"{warmup:.0f} s of warm-up the RSS baseline is {base / 2**20:.1f} MiB, worst growth "
          f"{growth:+.1%}: {'flat within 10 %' if flat else 'NOT flat (grew more than 10 %)'}")
    print(json.dumps({"soak_minutes": ns.minutes, "ran_minutes": round(ran / 60, 1),
                      "rate_eps": round(rate, 1),
                      "rss_baseline_mib": round(base / 2**20, 1), "rss_growth": growth,
                      "flat": flat, "sent": sent, "committed": done, "kept_up": kept_up,
                      "load_average": [round(x, 2) for x in load_average()]}))
    return 0 if flat and kept_up else 1


if __name__ == "__main__":
    sys.exit(main())
