"""Shared parts of the benchmark scripts: generated events, a fast keyed producer, waiting for
a consumer group's committed offsets, child processes, the state-size measurement and the
final report line. Pure parts (events, state size, report) are tested in tests/benchmarks/.

Importing this module puts the checkout it lives in first on ``sys.path``, so the scripts
measure this checkout's code even when the venv's editable install points elsewhere.
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import threading
import time
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from aiokafka import AIOKafkaConsumer, TopicPartition  # noqa: E402

from detectors.config import Config, default_config  # noqa: E402
from detectors.engine import Engine, KeyState  # noqa: E402
from detectors.events import AccessEvent  # noqa: E402
from detectors.findings import KeyKind  # noqa: E402
from detectors.scenario import ATTACKS, POLICY_ATTACKS, ScenarioSpec, generate  # noqa: E402
from pipeline.broker import _die_with_parent  # noqa: E402
from pipeline.kafka import make_producer  # noqa: E402
from pipeline.records import encode_state  # noqa: E402

__all__ = [
    "CHILD_ENV", "ROOT", "Child", "CommitWatch", "StateSize", "batch_by_user", "cpu_seconds",
    "default_attacks", "keyed_lines", "load_average", "measure_state", "produce", "report_line",
    "rss_bytes", "scenario_events", "verdicts",
]

#: Children import this checkout's code too.
CHILD_ENV = {"PYTHONPATH": str(ROOT)}


def load_average() -> tuple[float, float, float]:
    return os.getloadavg()


def cpu_seconds(pid: int | None) -> float:
    """User + system CPU time a process has used so far (Linux /proc); 0 when unknown.
    Per-event CPU cost is the figure that survives a busy, shared machine."""
    if pid is None:
        return 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int) -> int:
    """Resident set size of a process (Linux /proc), in bytes."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def default_attacks() -> tuple[str, ...]:
    """Every attack the default config catches (the policy ones need the example policy)."""
    return tuple(a for a in ATTACKS if a not in POLICY_ATTACKS)


def scenario_events(users: int, hours: float, seed: int = 42) -> list[AccessEvent]:
    """The realistic mix: benign users with every default-detectable attack planted."""
    spec = ScenarioSpec(users=users, hours=hours, seed=seed, attacks=default_attacks())
    return [ev for ev, _ in generate(spec)]


def keyed_lines(events: Iterable[AccessEvent]) -> list[tuple[bytes, bytes]]:
    """(key = user, value = one NDJSON event) per message."""
    return [(ev.user.encode(), ev.to_json()) for ev in events]


def batch_by_user(events: Iterable[AccessEvent], lines_per_message: int = 20
                  ) -> list[tuple[bytes, bytes]]:
    """Several NDJSON events per message, all of one user (the message key), in event order.

    A user's events are cut into messages of up to ``lines_per_message`` lines, emitted when
    full, so messages stay in the stream's overall time order as far as batching allows.

    >>> from detectors.scenario import ScenarioSpec, generate
    >>> evs = [e for e, _ in generate(ScenarioSpec(users=3, hours=1))]
    >>> msgs = batch_by_user(evs, 4)
    >>> sum(v.count(b"\\n") + 1 for _, v in msgs) == len(evs)
    True
    """
    pending: dict[str, list[bytes]] = defaultdict(list)
    out: list[tuple[bytes, bytes]] = []
    for ev in events:
        lines = pending[ev.user]
        lines.append(ev.to_json())
        if len(lines) >= lines_per_message:
            out.append((ev.user.encode(), b"\n".join(lines)))
            lines.clear()
    out.extend((u.encode(), b"\n".join(ls)) for u, ls in pending.items() if ls)
    return out


async def produce(bootstrap: str, topic: str, messages: Sequence[tuple[bytes, bytes]]) -> float:
    """Send every (key, value) as fast as the producer goes; returns the seconds it took."""
    producer = await make_producer(bootstrap)
    start = time.monotonic()
    try:
        pending: list[asyncio.Future[Any]] = []
        for key, value in messages:
            pending.append(await producer.send(topic, value=value, key=key))
            if len(pending) >= 5000:
                await asyncio.gather(*pending)
                pending.clear()
        await asyncio.gather(*pending)
    finally:
        await producer.stop()
    return time.monotonic() - start


class CommitWatch:
    """Polls a consumer group's committed offsets on one topic with one long-lived client."""

    def __init__(self, bootstrap: str, group: str, topic: str) -> None:
        self.bootstrap, self.group, self.topic = bootstrap, group, topic

    async def wait_total(self, expected: int, timeout_seconds: float,
                         poll_seconds: float = 0.1) -> tuple[int, float]:
        """Wait until the committed offsets add up to ``expected``; returns (total, the
        monotonic time the total was first seen)."""
        consumer = AIOKafkaConsumer(bootstrap_servers=self.bootstrap, group_id=self.group,
                                    enable_auto_commit=False)
        await consumer.start()
        try:
            parts = sorted(consumer.partitions_for_topic(self.topic) or ())
            deadline = time.monotonic() + timeout_seconds
            total = 0
            while time.monotonic() < deadline:
                total = 0
                for p in parts:
                    total += await consumer.committed(TopicPartition(self.topic, p)) or 0
                if total >= expected:
                    return total, time.monotonic()
                await asyncio.sleep(poll_seconds)
            return total, time.monotonic()
        finally:
            await consumer.stop()


class Child:
    """A Python child process whose output lines are collected; tied to our life."""

    def __init__(self, args: list[str], env: dict[str, str], log_path: Path) -> None:
        self.lines: list[str] = []
        self._cond = threading.Condition()
        self._log = log_path.open("w", encoding="utf-8")
        self.proc = subprocess.Popen(
            [sys.executable, *args], env={**os.environ, **CHILD_ENV, **env},
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, preexec_fn=_die_with_parent, start_new_session=True, cwd=ROOT,
        )
        self._reader = threading.Thread(target=self._read, args=(self.proc.stdout,),
                                        daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._log.write(line)
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()

    def wait_for(self, text: str, timeout_seconds: float) -> str:
        deadline = time.monotonic() + timeout_seconds
        with self._cond:
            while True:
                for line in self.lines:
                    if text in line:
                        return line
                if self.proc.poll() is not None:
                    raise RuntimeError(f"child exited ({self.proc.returncode}): "
                                       f"{''.join(self.lines[-5:])}")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise RuntimeError(f"child did not print {text!r} in {timeout_seconds} s")
                self._cond.wait(min(left, 0.5))

    def stop(self, timeout_seconds: float = 10.0) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout_seconds)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(2)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()


# --- state size -----------------------------------------------------------------------------

@dataclass
class StateSize:
    users: int
    events: int
    total_bytes: dict[str, int] = field(default_factory=dict)  # per key kind
    keys: dict[str, int] = field(default_factory=dict)
    max_user_bytes: int = 0

    @property
    def bytes_per_user(self) -> float:
        """Every key kind's table (value bytes, as the pipeline stores them) over users."""
        return sum(self.total_bytes.values()) / max(self.users, 1)


def _templates(config: Config, template_users: int, hours: float, seed: int
               ) -> list[list[AccessEvent]]:
    by_user: dict[str, list[AccessEvent]] = defaultdict(list)
    for ev in scenario_events(template_users, hours, seed):
        by_user[ev.user].append(ev)
    return list(by_user.values())


def measure_state(users: int, *, hours: float = 1.0, template_users: int = 200, seed: int = 7,
                  config: Config | None = None, engine: Engine | None = None) -> StateSize:
    """Run the Engine over ``users`` users' traffic and measure what the pipeline's tables
    would hold: ``encode_state`` bytes per key, for every key kind.

    Generating 100,000 users with :func:`generate` is slow, so the traffic of
    ``template_users`` generated users (benign and attacked, over ``hours``) is re-used:
    user *i* replays template *i mod T* under its own name, its own event ids and its own
    home address (other addresses, such as an attacker's, stay shared, as in the scenario).
    Each user's events run in time order; the user's state is measured after its last event.
    """
    cfg = config or default_config()
    eng = engine or Engine(cfg)
    templates = _templates(cfg, template_users, hours, seed)
    home = [_home_ip(t) for t in templates]
    other: dict[KeyKind, dict[str, KeyState]] = {k: {} for k in eng.key_kinds if k != "user"}
    size = StateSize(users=users, events=0)
    size.total_bytes["user"] = 0
    size.keys["user"] = 0
    for i in range(users):
        t = i % len(templates)
        name = f"u{i:06d}"
        ip = f"10.{(i >> 16) & 255}.{(i >> 8) & 255}.{i & 255}"
        state: KeyState | None = None
        for j, tev in enumerate(templates[t]):
            update: dict[str, Any] = {"user": name, "event_id": f"b-{i}-{j}"}
            if tev.source_ip is not None and tev.source_ip == home[t]:
                update["source_ip"] = ip
            ev = tev.model_copy(update=update)
            size.events += 1
            state, _ = eng.step("user", state, ev)
            for kind, table in other.items():
                key = eng.key_for(kind, ev)
                if key is None:
                    continue
                new, _ = eng.step(kind, table.get(key), ev)
                if new is None:
                    table.pop(key, None)
                else:
                    table[key] = new
        if state is not None:
            n = len(encode_state(state))
            size.total_bytes["user"] += n
            size.keys["user"] += 1
            size.max_user_bytes = max(size.max_user_bytes, n)
    for kind, table in other.items():
        size.total_bytes[kind] = sum(len(encode_state(s)) for s in table.values())
        size.keys[kind] = len(table)
    return size


def _home_ip(events: list[AccessEvent]) -> str | None:
    counts: dict[str, int] = defaultdict(int)
    for ev in events:
        if ev.source_ip is not None:
            counts[ev.source_ip] += 1
    return max(counts, key=lambda ip: counts[ip]) if counts else None


# --- report ---------------------------------------------------------------------------------

def verdicts(fig: dict[str, Any]) -> list[tuple[str, str, bool | None]]:
    """(figure, target text, met?) for every target of issue 8; None when not measured."""

    def ok(cond: Any) -> bool | None:
        try:
            return bool(cond())
        except (KeyError, TypeError):
            return None

    def best(name: str) -> float:
        """The faster of a baseline on the app's consumer and on Faust's stock one: the
        stricter reference (the stock consumer's extra loop turns let the naive agent's
        producer buffer drain, so it can be the faster one)."""
        return max(fig[name], fig.get(name.replace("_eps", "_stock_eps"), 0.0))

    return [
        ("pipeline_eps vs naive", ">= 2x naive (faster consumer)",
         ok(lambda: fig["pipeline_eps"] >= 2 * best("naive_faust_eps"))),
        ("pipeline_eps vs bare", ">= 0.8x bare (faster consumer)",
         ok(lambda: fig["pipeline_eps"] >= 0.8 * best("bare_faust_eps"))),
        ("latency_p50_ms", "<= 100 ms", ok(lambda: fig["latency_p50_ms"] <= 100)),
        ("latency_p99_ms", "<= 1000 ms", ok(lambda: fig["latency_p99_ms"] <= 1000)),
        ("state_bytes_per_user", "<= 2048 B", ok(lambda: fig["state_bytes_per_user"] <= 2048)),
        ("replay_eps", ">= 50,000/s", ok(lambda: fig["replay_eps"] >= 50_000)),
        ("two_worker_speedup", ">= 1.7x", ok(lambda: fig["two_worker_speedup"] >= 1.7)),
        ("ready_seconds", "<= 10 s", ok(lambda: fig["ready_seconds"] <= 10)),
    ]


def report_line(fig: dict[str, Any]) -> str:
    """The final line: one JSON object, floats rounded, keys in a stable order."""
    out = {k: (round(v, 3) if isinstance(v, float) else v) for k, v in fig.items()}
    return json.dumps(out, sort_keys=True, separators=(", ", ": "))
