"""``accessguard demo``: the whole pipeline on one machine, end to end, then a clean stop.

Embedded broker → worker (a child process) → synthetic events with a brute force planted →
the alert as the local webhook received it. Children die with the demo, even on Ctrl-C.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from alerts.signing import verify
from detectors.scenario import ScenarioSpec, generate
from pipeline import topics
from pipeline.broker import EmbeddedBroker, _die_with_parent, free_port
from pipeline.dlq import read_dead_letters
from pipeline.errors import PipelineError
from pipeline.produce import produce_lines
from pipeline.progress import Progress
from pipeline.receiver import Received, WebhookReceiver

__all__ = ["WorkerProcess", "run_demo"]

BAD_INPUT = [b'{"event_id": "bad-1", "user": "mallory"', b'{"event_id": "bad-2", '
             b'"timestamp": "2026-03-02T10:00:00", "user": "x", "action": "login", '
             b'"outcome": "failure"}']


class WorkerProcess:
    """``accessguard worker`` as a child process, its JSON log lines collected."""

    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.lines: list[str] = []
        self._log = log_path.open("w", encoding="utf-8")
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pipeline.cli", "worker"],
            env={**os.environ, **env}, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT, text=True, preexec_fn=_die_with_parent,
            start_new_session=True,  # the demo stops it in order: worker, then broker
        )
        self._reader = threading.Thread(target=self._read, args=(self.proc.stdout,), daemon=True)
        self._reader.start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self._log.write(line)
            self._log.flush()
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()

    def wait_for(self, text: str, timeout_seconds: float, *, after: int = 0) -> dict[str, Any]:
        """Wait for a log line containing ``text``; return it parsed, or raise."""
        deadline = time.monotonic() + timeout_seconds
        seen = after
        with self._cond:
            while True:
                for line in self.lines[seen:]:
                    if text in line:
                        try:
                            return json.loads(line[line.index("{"):])
                        except ValueError:
                            return {"event": text}
                seen = len(self.lines)
                left = deadline - time.monotonic()
                if self.proc.poll() is not None:
                    raise PipelineError(f"worker exited with code {self.proc.returncode}; "
                                        f"last output: {''.join(self.lines[-3:]).strip()}")
                if left <= 0:
                    raise PipelineError(f"worker did not log {text!r} within {timeout_seconds} s")
                self._cond.wait(min(left, 0.5))

    def stop(self, timeout_seconds: float = 15.0) -> int:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout_seconds)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._close()
        return self.proc.returncode

    def kill(self) -> None:
        self.proc.kill()
        self.proc.wait()
        self._close()

    def _close(self) -> None:
        self._reader.join(2)
        if self.proc.stdout is not None:
            self.proc.stdout.close()
        self._log.close()


def step(n: int, total: int, text: str) -> None:
    print(f"[{n}/{total}] {text}", flush=True)


def run_demo(*, users: int = 50, hours: float = 2.0, seed: int = 42,
             workdir: Path = Path(".demo")) -> int:
    workdir.mkdir(parents=True, exist_ok=True)
    spec = ScenarioSpec(users=users, hours=hours, seed=seed)
    total = 6
    step(1, total, "starting the embedded Kafka broker (Tansu, memory only) ...")
    with EmbeddedBroker(log_path=str(workdir / "broker.log")) as broker, \
            WebhookReceiver() as receiver:
        print(f"      broker on {broker.bootstrap}; webhook receiver on {receiver.url}")
        step(2, total, "starting the accessguard worker ...")
        web_port = free_port()
        key = os.urandom(24)  # a throwaway signing secret: the demo checks what it receives
        secret = "whsec_" + base64.b64encode(key).decode()
        started = time.monotonic()
        worker = WorkerProcess({
            "ACCESSGUARD_BOOTSTRAP_SERVERS": broker.bootstrap,
            "ACCESSGUARD_WEBHOOK_URL": receiver.url,
            "ACCESSGUARD_SESSION_TIMEOUT_SECONDS": "6",
            "ACCESSGUARD_PARTITIONS": "2",
            "ACCESSGUARD_WEB_PORT": str(web_port),
            "ACCESSGUARD_WEBHOOK_SIGNING_SECRET": secret,
            "ACCESSGUARD_CHANGELOG_END_MARKERS": "true",
            "ACCESSGUARD_DATA_DIR": str(workdir / "worker"),
            "ACCESSGUARD_APP_ID": f"accessguard-demo-{os.getpid()}",
        }, workdir / "worker.log")
        try:
            ready = worker.wait_for("worker.ready", 60)
            print(f"      ready in {time.monotonic() - started:.1f} s "
                  f"(consumer group joined, {ready.get('partitions')} partitions assigned); "
                  f"detectors: {', '.join(ready.get('detectors', []))}")
            events = generate(spec)
            step(3, total, f"producing {len(events)} synthetic access events from {users} "
                 f"users over {hours:g} h of event time, with a brute force against "
                 f"{spec.attack_user} planted in it ...")
            lines = [ev.to_json() for ev, _ in events]
            summary = asyncio.run(produce_lines(broker.bootstrap, lines, total=len(lines),
                                                progress=Progress("      sent", len(lines))))
            asyncio.run(produce_lines(broker.bootstrap, BAD_INPUT, validate=False))
            print(f"      plus {len(BAD_INPUT)} malformed messages, sent raw")
            step(4, total, "waiting for the alert at the webhook ...")
            got = receiver.wait_for(1, 60)
            time.sleep(2.0)  # anything else (there should be nothing) has time to arrive
            got = receiver.accepted()
            for r in got:
                print(render_received(r, key))
            step(5, total, "reading the dead-letter topic ...")
            dead = asyncio.run(read_dead_letters(broker.bootstrap, topics.EVENTS_DLQ,
                                                 expect=len(BAD_INPUT), timeout_seconds=20))
            for d in dead:
                print(f"      dead-lettered: {d.value[:48]!r}...\n"
                      f"        reason: {d.reason} "
                      f"(from {d.headers.get('accessguard-source-topic')}"
                      f" partition {d.headers.get('accessguard-source-partition')} offset "
                      f"{d.headers.get('accessguard-source-offset')})")
        finally:
            step(6, total, "stopping the worker, the receiver and the broker ...")
            code = worker.stop()
    planted = sum(1 for _, label in events if label)
    ok = len(got) == 1 and len(dead) == len(BAD_INPUT)
    print(f"\n{summary.sent} events sent ({planted} of them the attack): "
          f"{len(got)} alert(s) delivered (expected 1), {len(dead)} message(s) dead-lettered "
          f"(expected {len(BAD_INPUT)}); worker exited with code {code}. "
          f"Logs: {workdir}/worker.log")
    return 0 if ok else 1


def render_received(r: Received, key: bytes | None = None) -> str:
    """An alert as the webhook received it, laid out for a person."""
    body = r.json()
    a = body["data"]["alert"]
    ev = a.get("evidence", {})
    ids = a.get("event_ids", [])
    lines = [
        "",
        f"  ┌─ ALERT  {a['severity'].upper()}  {a['detector']}   ({body['type']})",
        f"  │ {a['title']}",
        f"  │ {a['explanation']}",
        f"  │ user        {a.get('user')}",
        f"  │ source IPs  {', '.join(a.get('source_ips', [])) or '-'}",
        f"  │ first seen  {a['first_seen']}",
        f"  │ last seen   {a['last_seen']}",
        f"  │ evidence    {', '.join(f'{k}={v}' for k, v in ev.items())}",
        f"  │ events      {', '.join(ids[:3])}{' ...' if len(ids) > 3 else ''} ({len(ids)})",
        f"  │ alert id    {a['alert_id']} (Idempotency-Key: {_header(r, 'idempotency-key')})",
        f"  │ signature   {_signature(r, key)}",
        "  └─",
    ]
    return "\n".join(lines)


def _header(r: Received, name: str) -> str | None:
    return next((v for k, v in r.headers.items() if k.lower() == name), None)


def _signature(r: Received, key: bytes | None) -> str:
    if not _header(r, "webhook-signature"):
        return "none"
    if key is None:
        return "present (not checked)"
    ok = verify(r.headers, r.body, key)
    return ("valid" if ok else "INVALID") + " (Standard Webhooks, HMAC-SHA256)"
