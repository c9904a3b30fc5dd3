"""Every benchmark of issue 8 in one run; the LAST line printed is one JSON object of figures.

    python benchmarks/run.py [--quick] [--profile prof.txt]

How each figure is measured (all in this run, on the embedded broker, 2 partitions):

- ``pipeline_eps``: the topic is pre-loaded with the scenario's events (benign users with
  every default-detectable attack planted, one event per message, key = user); then one
  ``accessguard worker`` (default config: every default detector) is started, and the clock
  runs from its ``worker.ready`` log line to the group's committed offsets reaching the
  number of messages. Faust commits every second, so short runs read a little low.
- ``pipeline_batched_eps``: the same, with ~20 NDJSON lines of one user per message.
- ``bare_faust_eps`` / ``naive_faust_eps``: benchmarks/faust_baseline.py (``create_app``'s
  settings and transport, the one the pipeline consumes with; parse only / parse + one
  table write per event), same protocol. ``bare_faust_stock_eps`` /
  ``naive_faust_stock_eps``: the same agents on Faust's own consumer as shipped. The
  targets compare with the faster of the two, the stricter reference: the naive agent is
  usually faster on the stock consumer (its extra loop turns per message let the producer
  buffer of one changelog write per event drain), the bare one on the app's.
- ``raw_consumer_eps``: aiokafka ``getmany`` + ``json.loads`` over the same pre-loaded topic.
- ``two_worker_speedup``: worker(s) started first on an empty topic (for two: until the group
  has rebalanced over both), then the events are produced and the clock runs from the first
  send to the committed total; ratio of two workers' rate to one worker's, same protocol.
  ``cpu_parallelism`` is its ceiling here: the work two busy-looping processes get done at
  once over one's (the broker and the producer share the same cores besides).
  ``one_worker_cores_busy`` / ``two_worker_cores_busy``: CPU seconds per second of the
  workers, the broker and this process (the producer) together over each run: how much of
  the machine was left for the second worker.
- ``latency_p50_ms`` / ``latency_p99_ms``: a worker posting to a webhook receiver in a process
  of its own (benchmarks/latency_receiver.py, stamping each request as it comes in); benign
  events paced at half of ``pipeline_eps``; every second a brute-force burst (5 failed logins,
  a fresh user and address) is injected; latency = webhook arrival - send of the newest event
  of that burst named in the alert's ``event_ids``.
- ``state_bytes_per_user``: benchmarks/harness.measure_state (the Engine over 100,000 users'
  traffic; ``encode_state`` bytes of every key kind's table over the user count).
- ``replay_eps``: an NDJSON file through ``detectors.replay.replay`` (parse, sort by event
  time, run) with every rule detector on, best of three in CPU time; ``replay_with_ml_eps``
  the same with the online model on too. benchmarks/replay.py has the detail.
- ``ready_seconds``: median, over this run's single-worker starts, of process start →
  ``worker.ready`` (benchmarks/ready.py's measure).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from aiokafka import AIOKafkaConsumer, TopicPartition

from benchmarks.harness import (
    CHILD_ENV,
    Child,
    CommitWatch,
    batch_by_user,
    cpu_seconds,
    keyed_lines,
    load_average,
    measure_state,
    produce,
    report_line,
    scenario_events,
    verdicts,
)
from detectors.config import default_config
from detectors.engine import Engine
from detectors.evaluate import RULE_DETECTORS
from detectors.events import AccessEvent
from detectors.findings import utc
from detectors.geo import GeoIP2FastLookup
from detectors.replay import replay
from pipeline import topics
from pipeline.broker import EmbeddedBroker
from pipeline.demo import WorkerProcess
from pipeline.kafka import ensure_topics, make_producer
from pipeline.receiver import Received
from pipeline.testing import start_worker

PARTITIONS = 2
Messages = Sequence[tuple[bytes, bytes]]


def say(text: str) -> None:
    print(text, flush=True)


def group_id(name: str) -> str:
    return f"bench-{name}-{uuid.uuid4().hex[:8]}"


class Run:
    """Figures and bookkeeping shared by the measurements of one run."""

    def __init__(self, workdir: Path, profile: Path | None) -> None:
        self.workdir = workdir
        self.profile = profile
        self.ready_times: list[float] = []
        self.figures: dict[str, Any] = {}

    def start_worker(self, bootstrap: str, app_id: str, *, webhook_url: str | None = None,
                     count_ready: bool = True) -> WorkerProcess:
        t = time.monotonic()  # benchmarks/ready.py's measure: process start to ready
        worker = start_worker(bootstrap, self.workdir / app_id, app_id=app_id,
                              webhook_url=webhook_url, partitions=PARTITIONS,
                              extra_env=CHILD_ENV, ready_timeout=90)
        if count_ready:
            self.ready_times.append(time.monotonic() - t)
        return worker


async def _preload(bootstrap: str, messages: Messages) -> float:
    await ensure_topics(bootstrap, topics.ALL, partitions=PARTITIONS)
    return await produce(bootstrap, topics.EVENTS, messages)


def _wait_committed(bootstrap: str, group: str, expected: int, timeout: float
                    ) -> tuple[int, float]:
    return asyncio.run(CommitWatch(bootstrap, group, topics.EVENTS).wait_total(expected, timeout))


@dataclass
class Rate:
    """Events per second over a timed window, and the consumer's CPU cost per event."""

    eps: float
    cpu_us: float  # consumer process(es) CPU per event
    broker_cpu_us: float
    done: bool  # everything was consumed (else the window ended first)
    cores_busy: float | None = None  # consumers + broker + this (producing) process

    def text(self) -> str:
        more = "" if self.done else " (window ended first)"
        busy = ("" if self.cores_busy is None else
                f"; {self.cores_busy:.2f} of {os.cpu_count()} cores busy (workers, broker and "
                "producer)")
        return (f"{self.eps:.0f} events/s{more}; CPU {self.cpu_us:.0f} µs/event in the "
                f"consumer, {self.broker_cpu_us:.0f} µs/event in the broker{busy}")


def _rate(events_per_message: float, got: int, seconds: float, cpu: float, broker_cpu: float,
          expected: int) -> Rate:
    if got <= 0:
        raise RuntimeError("nothing was committed within the window")
    events = got * events_per_message
    return Rate(events / seconds, cpu / events * 1e6, broker_cpu / events * 1e6,
                got >= expected)


def preloaded_worker_rate(run: Run, name: str, messages: Messages, events: int,
                          window: float) -> Rate:
    """Pre-load, start one worker, time from ready to everything committed (or the window's
    end: then the events committed by then)."""
    with EmbeddedBroker() as broker:
        secs = asyncio.run(_preload(broker.bootstrap, messages))
        say(f"  pre-loaded {len(messages)} messages ({events} events) in {secs:.1f} s")
        app_id = group_id(name)
        worker = run.start_worker(broker.bootstrap, app_id)
        t0, c0, b0 = time.monotonic(), cpu_seconds(worker.proc.pid), cpu_seconds(broker.pid)
        spy = _start_profile(run, worker.proc.pid) if name == "pipeline" else None
        try:
            got, t1 = _wait_committed(broker.bootstrap, app_id, len(messages), window)
            c1, b1 = cpu_seconds(worker.proc.pid), cpu_seconds(broker.pid)
        finally:
            if spy is not None:
                _stop_profile(spy, run)
            worker.stop()
    return _rate(events / len(messages), got, t1 - t0, c1 - c0, b1 - b0, len(messages))


def faust_baseline_rate(run: Run, mode: str, messages: Messages, window: float,
                        *, raw_too: bool = False, stock: bool = False
                        ) -> tuple[Rate, float | None]:
    with EmbeddedBroker() as broker:
        asyncio.run(_preload(broker.bootstrap, messages))
        app_id = group_id(mode + ("-stock" if stock else ""))
        child = Child(["benchmarks/faust_baseline.py", mode, broker.bootstrap, app_id,
                       "--partitions", str(PARTITIONS), *(["--stock"] if stock else [])],
                      {}, run.workdir / f"{app_id}.log")
        try:
            child.wait_for("bench.ready", 90)
            t0, c0, b0 = time.monotonic(), cpu_seconds(child.proc.pid), cpu_seconds(broker.pid)
            got, t1 = _wait_committed(broker.bootstrap, app_id, len(messages), window)
            c1, b1 = cpu_seconds(child.proc.pid), cpu_seconds(broker.pid)
        finally:
            child.stop()
        raw = asyncio.run(raw_consumer_eps(broker.bootstrap, len(messages))) if raw_too else None
    return _rate(1.0, got, t1 - t0, c1 - c0, b1 - b0, len(messages)), raw


async def raw_consumer_eps(bootstrap: str, expected: int) -> float:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False,
                                auto_offset_reset="earliest")
    await consumer.start()
    try:
        parts = [TopicPartition(topics.EVENTS, p)
                 for p in sorted(consumer.partitions_for_topic(topics.EVENTS) or ())]
        consumer.assign(parts)
        await consumer.seek_to_beginning(*parts)
        t0 = time.monotonic()
        n = 0
        while n < expected and time.monotonic() - t0 < 120:
            batch = await consumer.getmany(timeout_ms=500, max_records=5000)
            for records in batch.values():
                for rec in records:
                    json.loads(rec.value)
                    n += 1
        return n / (time.monotonic() - t0)
    finally:
        await consumer.stop()


def live_rate(run: Run, workers: int, messages: Messages, window: float) -> Rate:
    """Workers up first (group settled), then produce; first send to all committed (or the
    window's end)."""
    with EmbeddedBroker() as broker:
        asyncio.run(ensure_topics(broker.bootstrap, topics.ALL, partitions=PARTITIONS))
        app_id = group_id(f"live{workers}")
        started: list[WorkerProcess] = []
        try:
            for _ in range(workers):
                started.append(run.start_worker(broker.bootstrap, app_id, count_ready=False))
            if workers > 1:
                started[0].wait_for("worker.rebalanced", 60)
                time.sleep(1.0)
            pids = [w.proc.pid for w in started]

            async def go() -> tuple[int, float]:
                t0 = time.monotonic()
                await produce(broker.bootstrap, topics.EVENTS, messages)
                left = max(window - (time.monotonic() - t0), 1.0)
                return await CommitWatch(broker.bootstrap, app_id, topics.EVENTS).wait_total(
                    len(messages), left)

            t0, me0 = time.monotonic(), cpu_seconds(os.getpid())
            c0, b0 = sum(map(cpu_seconds, pids)), cpu_seconds(broker.pid)
            got, t1 = asyncio.run(go())
            c1, b1 = sum(map(cpu_seconds, pids)), cpu_seconds(broker.pid)
            me1 = cpu_seconds(os.getpid())
        finally:
            for w in started:
                w.stop()
    rate = _rate(1.0, got, t1 - t0, c1 - c0, b1 - b0, len(messages))
    rate.cores_busy = (c1 - c0 + b1 - b0 + me1 - me0) / (t1 - t0)
    return rate


def cpu_parallelism(seconds: float = 2.0) -> float:
    """How much work two busy processes get done at once, relative to one: this machine's
    ceiling for ``two_worker_speedup`` once a worker is CPU-bound (2.0 on two free cores;
    less when the cores are hyper-threads or shared)."""
    loop = (f"import time\nend = time.monotonic() + {seconds}\nn = 0\n"
            "while time.monotonic() < end:\n    n += 1\nprint(n)")

    def counts(procs: int) -> int:
        running = [subprocess.Popen([sys.executable, "-c", loop], stdout=subprocess.PIPE)
                   for _ in range(procs)]
        return sum(int(p.communicate()[0]) for p in running)

    return counts(2) / counts(1)


# --- latency --------------------------------------------------------------------------------

def burst(k: int, now: float, size: int = 5) -> list[AccessEvent]:
    """``size`` failed logins of a fresh user from a fresh address, a second apart."""
    user, ip = f"bench-atk-{k:05d}", f"198.18.{k // 250 % 256}.{k % 250 + 1}"
    return [AccessEvent.model_validate({
        "event_id": f"bench-atk-{k:05d}-{i}", "timestamp": utc(now - size + i), "user": user,
        "action": "login", "outcome": "failure", "source_ip": ip,
        "environment": "production"}) for i in range(size)]


async def paced(bootstrap: str, background: Messages, rate: float, seconds: float,
                sent_at: dict[str, float]) -> tuple[int, int]:
    """Background events at ``rate``/s, one attack burst per second; returns (events, bursts)."""
    producer = await make_producer(bootstrap)
    pending: list[asyncio.Future[Any]] = []
    start = time.monotonic()
    sent, bursts, i = 0, 0, 0
    try:
        while (now := time.monotonic()) - start < seconds:
            for _ in range(int((now - start) * rate) - sent):
                key, value = background[i % len(background)]
                pending.append(await producer.send(topics.EVENTS, value=value, key=key))
                i += 1
                sent += 1
            if now - start >= bursts + 0.5:
                for ev in burst(bursts, time.time()):
                    pending.append(await producer.send(topics.EVENTS, value=ev.to_json(),
                                                       key=ev.user.encode()))
                    sent_at[ev.event_id] = time.monotonic()
                bursts += 1
            if len(pending) > 2000:
                await asyncio.gather(*pending)
                pending.clear()
            await asyncio.sleep(0.005)
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return sent, bursts


def receiver_arrivals(receiver: Child) -> list[tuple[float, Received]]:
    """The receiver child's accepted POSTs so far, each with the moment it came in."""
    out: list[tuple[float, Received]] = []
    for line in list(receiver.lines):
        if line.startswith("arrival "):
            doc = json.loads(line.removeprefix("arrival "))
            out.append((doc["at"], Received("/hook", {}, doc["body"].encode(), 200, doc["at"])))
    return out


def latencies_ms(arrivals: list[tuple[float, Received]], sent_at: dict[str, float]
                 ) -> list[float]:
    """Per alert (first arrival only): arrival - send time of its newest event we sent."""
    return sorted(_matched(arrivals, sent_at)[0].values())


def _matched(arrivals: list[tuple[float, Received]], sent_at: dict[str, float]
             ) -> tuple[dict[str, float], set[str]]:
    """(ms per alert id, the newest sent event id each alert named)."""
    per_alert: dict[str, float] = {}
    named: set[str] = set()
    for at, r in arrivals:
        try:
            alert = r.json()["data"]["alert"]
        except (ValueError, KeyError, TypeError):
            continue
        ids = [i for i in alert.get("event_ids", ()) if i in sent_at]
        if ids and alert.get("alert_id") not in per_alert:
            newest = max(ids, key=lambda i: sent_at[i])
            per_alert[alert.get("alert_id")] = (at - sent_at[newest]) * 1000
            named.add(newest)
    return per_alert, named


def missed_bursts(arrivals: list[tuple[float, Received]], sent_at: dict[str, float],
                  finals: list[str], now: float) -> list[float]:
    """Lower bounds (ms since sent) for bursts whose final event no alert has named."""
    named = _matched(arrivals, sent_at)[1]
    return [(now - sent_at[f]) * 1000 for f in finals if f not in named]


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def measure_latency(run: Run, background: Messages, rate: float, seconds: float
                    ) -> tuple[float, float, int, int]:
    """(p50 ms, p99 ms, alerted bursts, bursts). A burst still not alerted when the wait
    ends counts with its time so far: a lower bound, so a lagging worker cannot look fast."""
    sent_at: dict[str, float] = {}
    with EmbeddedBroker() as broker:
        asyncio.run(ensure_topics(broker.bootstrap, topics.ALL, partitions=PARTITIONS))
        # The receiver runs in a process of its own (benchmarks/latency_receiver.py).
        receiver = Child(["benchmarks/latency_receiver.py"], {},
                         run.workdir / f"receiver-{uuid.uuid4().hex[:6]}.log")
        worker = None
        try:
            url = receiver.wait_for("receiver.ready", 30).split()[-1]
            worker = run.start_worker(broker.bootstrap, group_id("latency"), webhook_url=url)
            sent, bursts = asyncio.run(paced(broker.bootstrap, background, rate, seconds,
                                             sent_at))
            finals = [burst(k, 0)[-1].event_id for k in range(bursts)]
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and missed_bursts(
                    receiver_arrivals(receiver), sent_at, finals, time.monotonic()):
                time.sleep(0.2)
            arrivals = receiver_arrivals(receiver)
        finally:
            if worker is not None:
                worker.stop()
            receiver.stop()
    lat = latencies_ms(arrivals, sent_at)
    missed = missed_bursts(arrivals, sent_at, finals, time.monotonic())
    if not lat and not missed:
        raise RuntimeError("latency: no burst was sent")
    say(f"  sent {sent} background events at {rate:.0f}/s and {bursts} bursts; "
        f"{len(lat)} burst alerts received"
        + (f"; {len(missed)} not within 10 s after the last send (counted as lower bounds)"
           if missed else ""))
    everything = lat + missed
    return percentile(everything, 0.5), percentile(everything, 0.99), len(lat), bursts


# --- replay ---------------------------------------------------------------------------------

def replay_eps(lines: Sequence[bytes], workdir: Path) -> tuple[float, float]:
    """(replay events/s with every rule detector on, the same with the online model too):
    ``detectors.replay.replay`` (parse, sort by event time, run) over an NDJSON file, best
    of three, CPU time. The rule-only figure is the one issue 3's target is about."""
    path = workdir / "replay.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    geo = GeoIP2FastLookup.load()

    def best(engine: Callable[[], Engine]) -> tuple[float, int]:
        times = []
        for _ in range(3):
            eng = engine()
            t0 = time.process_time()
            with path.open("rb") as f:
                result = replay(f, eng)
            times.append(time.process_time() - t0)
        return result.summary.valid / min(times), len(result.findings)

    rules, found = best(lambda: Engine(default_config(), only=RULE_DETECTORS, geo=geo))
    with_ml, found_ml = best(lambda: Engine(default_config(), geo=geo))
    say(f"  {len(lines)} events: rule detectors {rules:.0f}/s ({found} findings); with the "
        f"online model too {with_ml:.0f}/s ({found_ml} findings)")
    return rules, with_ml


def archive_rps(events: Sequence[AccessEvent], workdir: Path) -> float:
    """Records/s of the worker's archive path (``Audit.event`` items, ``append_many``)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from pipeline.archive import ArchiveWriter
    from pipeline.audit import Audit

    items = [Audit.event(ev) for ev in events]
    t0 = time.perf_counter()
    with ArchiveWriter.open_dir(workdir / "archive", Ed25519PrivateKey.generate()) as writer:
        for i in range(0, len(items), 1000):
            writer.append_many(items[i : i + 1000])
    return len(items) / (time.perf_counter() - t0)


# --- profile (py-spy) -----------------------------------------------------------------------

def _start_profile(run: Run, pid: int) -> subprocess.Popen[bytes] | None:
    if run.profile is None:
        return None
    spy = Path(sys.executable).parent / "py-spy"
    # --nonblocking: sample without pausing the worker, so the profile barely slows it
    return subprocess.Popen([str(spy), "record", "--pid", str(pid), "--format", "raw",
                             "--rate", "100", "--nonblocking", "--threads", "-o",
                             str(run.profile)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def _stop_profile(spy: subprocess.Popen[bytes], run: Run) -> None:
    spy.send_signal(signal.SIGINT)
    try:
        spy.wait(20)
    except subprocess.TimeoutExpired:
        spy.kill()
        spy.wait()
    if run.profile is not None and run.profile.exists():
        say(summarize_profile(run.profile))


def summarize_profile(path: Path, top: int = 25) -> str:
    """Self and inclusive share of samples per function, from py-spy's raw (collapsed) file;
    recorded with ``--threads``, only the main thread's (where the agents run) count."""
    own: Counter[str] = Counter()
    incl: Counter[str] = Counter()
    total = 0
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not stack or not count.isdigit():
            continue
        raw = stack.split(";")
        if raw[0].startswith("thread ("):
            if "MainThread" not in raw[0]:
                continue
            raw = raw[1:]
        if not raw:  # a sample of the thread with no Python frame (idle in C)
            continue
        n = int(count)
        total += n
        frames = [_fn(f) for f in raw]
        own[frames[-1]] += n
        for f in set(frames):
            incl[f] += n
    if not total:
        return "  profile: no samples"
    rows = [f"  profile: {total} samples (main thread); top functions by own time "
            "(% own, % inclusive):"]
    rows += [f"    {n / total:6.1%} {incl[f] / total:6.1%}  {f}" for f, n in own.most_common(top)]
    rows.append("  top by inclusive time:")
    rows += [f"    {n / total:6.1%}  {f}" for f, n in incl.most_common(top)]
    return "\n".join(rows)


def _fn(frame: str) -> str:
    name, _, where = frame.partition(" (")
    file = where.rstrip(")").rsplit(":", 1)[0]
    parts = Path(file).parts
    short = "/".join(parts[-2:]) if parts else file
    return f"{name} ({short})"


# --- main -----------------------------------------------------------------------------------

def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    ap.add_argument("--quick", action="store_true", help="small sizes: under 5 minutes")
    ap.add_argument("--users", type=int, help="scenario users (default 1000; quick 600)")
    ap.add_argument("--hours", type=float, help="scenario hours (default 8; quick 4)")
    ap.add_argument("--window", type=float, help="max seconds per throughput measurement "
                    "(default 90; quick 12)")
    ap.add_argument("--latency-seconds", type=float, help="default 60; quick 15")
    ap.add_argument("--state-users", type=int, help="default 100000; quick 20000")
    ap.add_argument("--state-hours", type=float, help="traffic per state user (default 2; "
                    "quick 1)")
    ap.add_argument("--profile", type=Path, help="py-spy raw profile of the pipeline worker")
    ns = ap.parse_args(argv)
    quick = ns.quick
    users = ns.users or (600 if quick else 1000)
    hours = ns.hours or (4.0 if quick else 8.0)
    window = ns.window or (12.0 if quick else 90.0)
    lat_seconds = ns.latency_seconds or (15.0 if quick else 60.0)
    state_users = ns.state_users or (20_000 if quick else 100_000)
    state_hours = ns.state_hours or (1.0 if quick else 2.0)
    began = time.monotonic()
    la = load_average()
    say(f"accessguard benchmarks ({'quick' if quick else 'full'}) on {os.cpu_count()} cores; "
        f"load average at start {la[0]:.2f} {la[1]:.2f} {la[2]:.2f}")
    say(f"generating the scenario: {users} users x {hours:g} h, every default attack ...")
    events = scenario_events(users, hours)
    single = keyed_lines(events)
    batched = batch_by_user(events, 20)
    say(f"  {len(events)} events; {len(batched)} batched messages (~20 lines, one user each); "
        f"throughput windows of at most {window:g} s")
    fig: dict[str, Any] = {}
    with tempfile.TemporaryDirectory(prefix="accessguard-bench-") as tmp:
        run = Run(Path(tmp), ns.profile)

        def keep(name: str, rate: Rate) -> None:
            fig[name] = rate.eps
            fig[name.replace("_eps", "_cpu_us_per_event")] = rate.cpu_us
            say(f"  {name} = {rate.text()}")

        say("[1/9] pipeline: one worker, pre-loaded topic, ready -> all committed ...")
        keep("pipeline_eps", preloaded_worker_rate(run, "pipeline", single, len(events), window))
        say("[2/9] pipeline, batched producer (~20 events per message) ...")
        keep("pipeline_batched_eps",
             preloaded_worker_rate(run, "batched", batched, len(events), window))
        say("[3/9] bare Faust agent (parse only), then raw aiokafka consumer ...")
        bare, raw = faust_baseline_rate(run, "bare", single, window, raw_too=True)
        keep("bare_faust_eps", bare)
        fig["raw_consumer_eps"] = raw
        say(f"  raw_consumer_eps = {raw:.0f} events/s")
        say("[4/9] naive Faust agent (parse + one table write per event) ...")
        keep("naive_faust_eps", faust_baseline_rate(run, "naive", single, window)[0])
        say("[4+] the same two agents on Faust's own consumer (as shipped), for context ...")
        keep("bare_faust_stock_eps",
             faust_baseline_rate(run, "bare", single, window, stock=True)[0])
        keep("naive_faust_stock_eps",
             faust_baseline_rate(run, "naive", single, window, stock=True)[0])
        say("[5/9] two workers vs one (workers up first, then produce) ...")
        one, two = live_rate(run, 1, single, window), live_rate(run, 2, single, window)
        keep("one_worker_live_eps", one)
        keep("two_worker_live_eps", two)
        fig["two_worker_speedup"] = fig["two_worker_live_eps"] / fig["one_worker_live_eps"]
        fig["one_worker_cores_busy"] = one.cores_busy
        fig["two_worker_cores_busy"] = two.cores_busy
        fig["cpu_parallelism"] = cpu_parallelism()
        say(f"  two_worker_speedup = {fig['two_worker_speedup']:.2f}x; baseline: two busy "
            f"processes get {fig['cpu_parallelism']:.2f}x the work of one on this machine")
        rate = fig["pipeline_eps"] / 2
        say(f"[6/9] latency at half of pipeline_eps ({rate:.0f} events/s) for "
            f"{lat_seconds:g} s ...")
        p50, p99, n, bursts = measure_latency(run, single, rate, lat_seconds)
        fig["latency_p50_ms"], fig["latency_p99_ms"], fig["latency_samples"] = p50, p99, n
        fig["latency_bursts"] = bursts
        fig["latency_rate_eps"] = rate
        say(f"  latency p50 {p50:.0f} ms, p99 {p99:.0f} ms ({n} of {bursts} bursts alerted)")
        say(f"[7/9] state size: Engine over {state_users} users x {state_hours:g} h ...")
        t = time.monotonic()
        size = measure_state(state_users, hours=state_hours,
                             engine=Engine(default_config(), geo=GeoIP2FastLookup.load()))
        fig["state_bytes_per_user"] = size.bytes_per_user
        fig["state_max_user_bytes"] = size.max_user_bytes
        fig["state_users"] = size.users
        say(f"  {size.events} events in {time.monotonic() - t:.0f} s; bytes by key kind "
            f"{size.total_bytes}, keys {size.keys}; {size.bytes_per_user:.0f} B/user, "
            f"max {size.max_user_bytes} B for one user")
        say("[8/9] replay: NDJSON file -> detectors.replay.replay (parse, sort, run) ...")
        fig["replay_eps"], fig["replay_with_ml_eps"] = replay_eps(
            [v for _, v in single], run.workdir)
        say(f"  replay_eps = {fig['replay_eps']:.0f}/s "
            f"(with the online model too {fig['replay_with_ml_eps']:.0f}/s)")
        say("[9/9] ready time (process start -> worker.ready), over this run's starts ...")
        fig["ready_seconds"] = statistics.median(run.ready_times)
        say(f"  ready_seconds = {fig['ready_seconds']:.2f} "
            f"({', '.join(f'{t:.1f}' for t in run.ready_times)})")
        say("[+] archive: the same events through ArchiveWriter (batches of 1,000, fsync each)")
        fig["archive_write_rps"] = archive_rps(events, run.workdir)
        say(f"  archive_write_rps = {fig['archive_write_rps']:.0f} records/s, next to "
            f"pipeline_eps = {fig['pipeline_eps']:.0f} events/s: the archive is "
            f"{fig['archive_write_rps'] / max(fig['pipeline_eps'], 1):.0f}x faster")
    fig["events"] = len(events)
    fig["load_average"] = [round(x, 2) for x in load_average()]
    fig["elapsed_seconds"] = time.monotonic() - began
    say(f"targets (load average now {fig['load_average']}; 2 shared cores: figures are noisy, "
        f"the CPU µs/event figures less so):")
    for name, target, met in verdicts(fig):
        mark = {True: "met", False: "MISSED", None: "not measured"}[met]
        say(f"  {name:24s} {target:24s} {mark}")
    say(report_line(fig))


if __name__ == "__main__":
    main()
