"""Alert lifecycle: once per incident, re-alert with backoff, resolve when quiet. Pure.

State is one small JSON-compatible dict per (detector, key); :func:`observe` folds a new alert
into it and says what to send, :func:`expire` closes incidents that went quiet. Time is
passed in as ``now`` (POSIX seconds; event time in the stream, e.g. ``alert.last_seen``).

- The first alert for a (detector, key) opens an incident and pages (``notify``).
- Alerts for the same (detector, key) within ``cooldown_seconds`` of the last one join the
  open incident: its count and last-seen time are updated, nothing is paged (``update``) ...
- ... unless the incident has gone on long enough for a re-alert (``realert``): after
  ``realert_after_seconds``, then twice that, four times ..., at most ``realert_max_seconds``
  apart. Every message about an incident carries the incident's alert id.
- The same alert seen twice (at-least-once delivery) changes nothing (``duplicate``).
- A muted alert (silenced or inhibited: see :func:`mute_reason`) is recorded but not sent
  (``muted``); a later unmuted repeat pages for the first time.
- After ``cooldown_seconds`` without a repeat the incident closes; if it was paged, a
  ``resolve`` message goes out.

Re-alerts ride on repeats: an incident that produces no new alerts is not re-paged, it
closes. The state (about 1 KB as JSON) is ``{"v", "alert": <the incident's latest alert,
with the incident's id and first_seen, at most 10 event ids>, "first", "last", "count",
"ids": <recent alert ids, for duplicates>, "sent", "notified_at", "muted"}``. Pass event
time as ``now`` (``alert.last_seen``) so that a replay decides exactly as the stream did.

>>> from alerts.testing import make_alert
>>> from detectors.testing import BASE_TS as t0
>>> policy = LifecyclePolicy(cooldown_seconds=600)
>>> state, d = observe(None, make_alert(ts=0), now=t0, policy=policy)
>>> d.action, [n.kind for n in d.notifications]
('notify', ['trigger'])
>>> state, d = observe(state, make_alert(ts=60, incident="e2"), now=t0 + 60, policy=policy)
>>> d.action, state["count"]
('update', 2)
>>> state, d = expire(state, now=t0 + 700, policy=policy)
>>> state, d.action, d.notifications[0].kind
(None, 'resolve', 'resolve')
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from alerts.inhibition import InhibitRule, inhibiting
from alerts.model import Alert, Notification
from alerts.silences import Silence, active_silence

__all__ = [
    "Decision",
    "LifecyclePolicy",
    "expire",
    "mute_reason",
    "observe",
    "partition_key",
    "state_key",
]

Action = Literal["notify", "realert", "update", "duplicate", "muted", "resolve"]
State = dict[str, Any]

_MAX_IDS = 16          # alert ids remembered per incident, to spot duplicates
_MAX_EVENT_IDS = 10    # event ids kept in the stored copy of the alert


class LifecyclePolicy(BaseModel):
    """Timing of the lifecycle (the ``lifecycle`` section of the alerts config)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cooldown_seconds: float = Field(default=3600.0, gt=0, le=30 * 86400,
                                    description="repeats within this join the open incident")
    realert: bool = True
    realert_after_seconds: float = Field(default=3600.0, gt=0,
                                         description="first re-alert interval")
    realert_max_seconds: float = Field(default=86400.0, gt=0,
                                       description="cap on re-alert intervals")

    def realert_interval(self, sent: int) -> float:
        """Seconds after the ``sent``-th message until the next re-alert is due."""
        return min(self.realert_after_seconds * 2 ** max(sent - 1, 0), self.realert_max_seconds)


@dataclass(frozen=True, slots=True)
class Decision:
    """What to do: ``notifications`` to route and send (possibly none), and why."""

    action: Action
    notifications: tuple[Notification, ...] = ()
    reason: str = ""


def state_key(alert: Alert) -> str:
    """Table key for an alert's lifecycle state: ``detector/key_kind/key``."""
    return f"{alert.detector}/{alert.key_kind}/{alert.key}"


def partition_key(alert: Alert) -> str:
    """Stream key for the alert agent: the user when known, else the detector's key.

    Keying alerts by it puts every alert about one user (whatever its detector) on one
    partition, so lifecycle states and inhibition sources for that user live together.
    """
    return alert.user if alert.user is not None else alert.key


def mute_reason(
    labels: Mapping[str, str], *, now: float, silences: Iterable[Silence] = (),
    inhibit_rules: Sequence[InhibitRule] = (), inhibit_sources: Iterable[Mapping[str, Any]] = (),
) -> str | None:
    """Why an alert with these labels must not be sent now (a silence or inhibition), or None."""
    silence = active_silence(silences, labels, now=now)
    if silence is not None:
        return f"silenced by {silence.id} ({silence.reason})"
    rule = inhibiting(inhibit_rules, inhibit_sources, labels, now=now)
    if rule is not None:
        return f"inhibited by {rule.describe(list(inhibit_rules).index(rule))}"
    return None


def observe(
    state: State | None, alert: Alert, *, now: float, policy: LifecyclePolicy,
    mute: str | None = None,
) -> tuple[State, Decision]:
    """Fold a new alert into its (detector, key) state; return the new state and decision.

    May return notifications for two incidents: the resolve of an expired one and the
    trigger of the new one. ``state`` is not mutated.
    """
    resolved: tuple[Notification, ...] = ()
    if state is not None and now - state["last"] > policy.cooldown_seconds:
        _, closing = expire(state, now=now, policy=policy)
        resolved = closing.notifications if closing else ()
        state = None
    if state is None:
        st = _open(alert, now)
        if mute is not None:
            st["muted"] = mute
            return st, Decision("muted", resolved, mute)
        return _sent(st, now), Decision("notify", (*resolved, _note(st, "trigger")), "new incident")

    if alert.alert_id in state["ids"] and alert.last_seen.timestamp() <= state["last"]:
        return state, Decision("duplicate", (), "already seen")
    st = _merge(state, alert, now)
    if mute is not None:
        st["muted"] = mute
        return st, Decision("muted", (), mute)
    st["muted"] = None
    if st["sent"] == 0:
        return _sent(st, now), Decision("notify", (_note(st, "trigger"),), "first unmuted")
    due = st["notified_at"] + policy.realert_interval(st["sent"])
    if policy.realert and now >= due:
        st = _sent(st, now)
        return st, Decision("realert", (_note(st, "realert"),), "incident still going")
    return st, Decision("update", (), "repeat within cooldown")


def expire(
    state: State, *, now: float, policy: LifecyclePolicy
) -> tuple[State | None, Decision | None]:
    """Close the incident if quiet for ``cooldown_seconds``: (None, resolve) or (state, None).

    Call it from a timer over the stored states (with the stream's event-time watermark or
    the wall clock as ``now``); delete the key when it returns None.
    """
    if now - state["last"] <= policy.cooldown_seconds:
        return state, None
    if state["sent"] == 0:
        return None, Decision("resolve", (), "closed; never sent")
    return None, Decision("resolve", (_note(state, "resolve"),), "quiet for the cooldown")


def _open(alert: Alert, now: float) -> State:
    return {
        "v": 1,
        "alert": _compact(alert),
        "first": alert.first_seen.timestamp(),
        "last": max(alert.last_seen.timestamp(), now),
        "count": 1,
        "ids": [alert.alert_id],
        "sent": 0,
        "notified_at": None,
        "muted": None,
    }


def _merge(state: State, alert: Alert, now: float) -> State:
    incident = state["alert"]["alert_id"]
    st = dict(state)
    st["alert"] = _compact(alert, alert_id=incident, first_seen=state["alert"]["first_seen"])
    st["last"] = max(state["last"], alert.last_seen.timestamp(), now)
    st["first"] = min(state["first"], alert.first_seen.timestamp())
    if alert.alert_id not in state["ids"]:
        st["count"] = state["count"] + 1
        st["ids"] = [*state["ids"], alert.alert_id][-_MAX_IDS:]
    return st


def _sent(state: State, now: float) -> State:
    return {**state, "sent": state["sent"] + 1, "notified_at": now}


def _compact(alert: Alert, **update: Any) -> dict[str, Any]:
    data = alert.model_dump(mode="json")
    data["event_ids"] = data["event_ids"][:_MAX_EVENT_IDS]
    data.update(update)
    return data


def _note(state: State, kind: Literal["trigger", "realert", "resolve"]) -> Notification:
    seq = state["sent"] if kind == "resolve" else state["sent"] - 1
    return Notification(kind=kind, alert=Alert.model_validate(state["alert"]),
                        occurrences=state["count"], sequence=seq)
