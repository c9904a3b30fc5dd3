"""The alerting agents: from alerts to delivered (or dead-lettered) notifications.

- ``lifecycle`` reads ``ALERTS`` (key = :func:`alerts.lifecycle.partition_key`: the user, so
  one user's alerts and inhibition sources live on one partition). Per alert: silences and
  inhibition (:func:`mute_reason`), the incident's state (:func:`observe`: notify once,
  update repeats, re-alert long incidents), routing (:func:`route`). Each resulting
  notification goes to ``NOTIFICATIONS`` with its destination names.
- ``deliver`` reads ``NOTIFICATIONS`` and sends each to its destinations at once
  (:class:`Dispatcher`: retries, backoff, rate limits). A destination that gives up yields a
  dead-letter record on ``ALERTS_DLQ``; the offset advances only after every destination has
  either taken the notification or had it dead-lettered.
- a timer resolves incidents quiet for the cooldown (``expire``), sending resolve messages.

Decisions use event time: each alert's ``last_seen``; the timer uses the newest event time
this worker has seen plus the wall time elapsed since (:class:`EventClock`), so history
replayed through the stream does not resolve everything at once.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import faust

from alerts.deadletter import dead_letter
from alerts.errors import SilenceError
from alerts.inhibition import remember_source
from alerts.lifecycle import expire, mute_reason, observe, partition_key, state_key
from alerts.model import Alert, Notification
from alerts.routing import route
from alerts.silences import Silence, SilenceStore
from pipeline import topics
from pipeline.app import raw_topic
from pipeline.audit import Audit
from pipeline.live import Live
from pipeline.logs import log_event
from pipeline.records import decode_state, dlq_headers, encode_state

__all__ = ["AlertCounters", "EventClock", "build_alerting"]


class EventClock:
    """Newest event time seen, advanced by wall time elapsed since it was seen."""

    def __init__(self) -> None:
        self._wm: float | None = None
        self._at = 0.0

    def observe(self, ts: float) -> None:
        if self._wm is None or ts > self._wm:
            self._wm, self._at = ts, time.monotonic()

    def now(self) -> float | None:
        return None if self._wm is None else self._wm + (time.monotonic() - self._at)


class Silences:
    """The silences file, re-read when it changes (the CLI writes it; workers read it)."""

    def __init__(self, store: SilenceStore, audit: Audit) -> None:
        self._store = store
        self._audit = audit
        self._mtime: float | None = None
        self._cached: list[Silence] = []

    def current(self, now: float) -> list[Silence]:
        try:
            mtime = self._store.path.stat().st_mtime
        except OSError:
            return []
        if mtime != self._mtime:
            try:
                self._cached = self._store.load()
            except SilenceError:
                return [s for s in self._cached if s.active(now)]  # keep the last good set
            self._mtime = mtime
            self._audit.record("silence", {"file": str(self._store.path), "silences": [
                s.model_dump(mode="json") for s in self._cached]}, time.time())
        return [s for s in self._cached if s.active(now)]


@dataclass
class AlertCounters:
    decisions: dict[str, int] = field(default_factory=dict)
    delivered: int = 0
    dead_lettered: int = 0


def build_alerting(app: faust.App, live: Live, clock: EventClock, log: logging.Logger, *,
                   partitions: int, audit: Audit | None = None,
                   on_delivery: Callable[[str, float], None] | None = None) -> AlertCounters:
    counters = AlertCounters()
    audit = audit or Audit()
    alerts_topic = raw_topic(app, topics.ALERTS)
    notes_topic = raw_topic(app, topics.NOTIFICATIONS)
    alerts_dlq = raw_topic(app, topics.ALERTS_DLQ)
    states = app.Table("alert-state", key_type=bytes, value_type=bytes, partitions=partitions)
    sources = app.Table("inhibit-sources", key_type=bytes, value_type=bytes,
                        partitions=partitions)
    silences = Silences(SilenceStore(live.alerts.silences_file), audit)

    async def publish(note: Notification) -> None:
        names = route(live.alerts.routes, note.alert.label_set())
        value = json.dumps({"destinations": names, "notification": note.model_dump(mode="json")})
        await notes_topic.send(key=note.alert.alert_id.encode(), value=value.encode())

    async def lifecycle(stream: faust.StreamT) -> None:
        async for ev in stream.events():
            msg = ev.message
            try:
                alert = Alert.from_json(msg.value)
            except ValueError as exc:
                await alerts_dlq.send(key=msg.key, value=msg.value, headers=dlq_headers(
                    f"not a valid alert: {str(exc).splitlines()[0]}", topic=msg.topic,
                    partition=msg.partition, offset=msg.offset))
                continue
            cfg = live.alerts
            policy = cfg.lifecycle
            now = alert.last_seen.timestamp()
            clock.observe(now)
            skey, pkey = state_key(alert).encode(), partition_key(alert).encode()
            known = decode_state(sources.get(pkey)) or {"s": []}
            labels = alert.label_set()
            mute = mute_reason(labels, now=now, silences=silences.current(now),
                               inhibit_rules=cfg.inhibit_rules, inhibit_sources=known["s"])
            state, decision = observe(decode_state(states.get(skey)), alert, now=now,
                                      policy=policy, mute=mute)
            states[skey] = encode_state({**state, "_p": msg.partition})
            if cfg.inhibit_rules:
                kept = remember_source(known["s"], labels, cfg.inhibit_rules,
                                       until=now + policy.cooldown_seconds, now=now)
                if kept != known["s"]:
                    sources[pkey] = encode_state({"s": kept})
            counters.decisions[decision.action] = counters.decisions.get(decision.action, 0) + 1
            audit.alert(alert, decision.action, decision.reason)
            log_event(log, f"alert.{decision.action}", alert_id=alert.alert_id,
                      detector=alert.detector, key=alert.key, reason=decision.reason)
            for note in decision.notifications:
                await publish(note)

    async def deliver(stream: faust.StreamT) -> None:
        async for ev in stream.events():
            msg = ev.message
            try:
                rec = json.loads(msg.value)
                note = Notification.model_validate(rec["notification"])
                names = [str(n) for n in rec["destinations"]]
            except (ValueError, KeyError, TypeError) as exc:
                await alerts_dlq.send(key=msg.key, value=msg.value, headers=dlq_headers(
                    f"not a valid notification: {str(exc).splitlines()[0]}", topic=msg.topic,
                    partition=msg.partition, offset=msg.offset))
                continue
            started = time.monotonic()
            outcomes = await live.dispatcher.dispatch(note, names)
            if on_delivery is not None:  # destinations run in parallel: time until all answered
                for name in names:
                    on_delivery(name, time.monotonic() - started)
            for outcome in outcomes:
                audit.record("delivery", {
                    "alert_id": note.alert.alert_id, "kind": note.kind,
                    "idempotency_key": note.idempotency_key, "destination": outcome.destination,
                    "delivered": outcome.error is None,
                    "status": (outcome.result.status if outcome.result else outcome.error.status
                               if outcome.error else None),
                    "attempts": (outcome.result.attempts if outcome.result else
                                 outcome.error.attempts if outcome.error else None),
                    "reason": outcome.error.reason if outcome.error else None,
                }, time.time())
                if outcome.error is None:
                    counters.delivered += 1
                    log_event(log, "alert.delivered", alert_id=note.alert.alert_id,
                              kind=note.kind, destination=outcome.destination,
                              status=outcome.result.status if outcome.result else None)
                    continue
                counters.dead_lettered += 1
                record = dead_letter(note, outcome.destination, outcome.error,
                                     failed_at=time.time())
                await alerts_dlq.send(key=msg.key, value=json.dumps(record).encode(),
                                      headers=dlq_headers(outcome.error.reason, topic=msg.topic,
                                                          partition=msg.partition,
                                                          offset=msg.offset))
                log_event(log, "alert.dead_lettered", level=logging.ERROR,
                          alert_id=note.alert.alert_id, destination=outcome.destination,
                          reason=outcome.error.reason, attempts=outcome.error.attempts)

    async def resolve_quiet_incidents() -> None:
        audit.rotate_if_due()  # idle segments still get sealed on time
        now = clock.now()
        if now is None:
            return
        for key, raw_state in list(states.data.items()):
            state: dict[str, Any] | None = decode_state(raw_state)
            if state is None:
                continue
            kept, decision = expire(state, now=now, policy=live.alerts.lifecycle)
            if kept is not None or decision is None:
                continue
            states.data.pop(key, None)
            states.send_changelog(state.get("_p"), key, None)
            log_event(log, "alert.resolved", key=key.decode(errors="replace"),
                      reason=decision.reason)
            for note in decision.notifications:
                await publish(note)

    app.agent(alerts_topic, name="lifecycle")(lifecycle)
    app.agent(notes_topic, name="deliver")(deliver)
    app.timer(interval=10.0, name="resolve_quiet_incidents")(resolve_quiet_incidents)
    return counters
