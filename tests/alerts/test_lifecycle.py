"""Lifecycle decisions: once per incident, re-alert backoff, mute, resolve. Pure."""

from __future__ import annotations

import copy
import json
from itertools import pairwise

from alerts.inhibition import InhibitRule, inhibit_source
from alerts.lifecycle import (
    LifecyclePolicy,
    expire,
    mute_reason,
    observe,
    partition_key,
    state_key,
)
from alerts.matchers import Matchers
from alerts.model import Alert
from alerts.silences import Silence
from alerts.testing import make_alert
from detectors.testing import BASE_TS

POLICY = LifecyclePolicy(cooldown_seconds=1800, realert_after_seconds=3600,
                         realert_max_seconds=4 * 3600)


def at(minutes: float, n: int) -> Alert:
    return make_alert(ts=minutes * 60, incident=f"inc{n}")


def run(alerts: list[Alert], policy: LifecyclePolicy = POLICY) -> tuple[dict, list[str]]:
    state = None
    actions = []
    for a in alerts:
        before = copy.deepcopy(state)
        state, d = observe(state, a, now=a.last_seen.timestamp(), policy=policy)
        assert before is None or before == json.loads(json.dumps(before))
        actions.append(d.action)
    assert state is not None
    return state, actions


def test_first_alert_pages_and_repeats_within_cooldown_only_update() -> None:
    state, actions = run([at(0, 1), at(10, 2), at(25, 3)])
    assert actions == ["notify", "update", "update"]
    assert state["count"] == 3 and state["sent"] == 1
    assert state["last"] == at(25, 3).last_seen.timestamp()
    assert state["alert"]["alert_id"] == at(0, 1).alert_id  # the incident keeps its id
    assert json.loads(json.dumps(state)) == state and len(json.dumps(state)) < 2500


def test_long_incident_realerts_with_exponential_backoff_capped() -> None:
    # a repeat every 20 minutes for 16 hours
    alerts = [at(20 * i, i) for i in range(49)]
    state, actions = run(alerts)
    times = [i * 20 for i, a in enumerate(actions) if a in ("notify", "realert")]
    assert actions[0] == "notify"
    # intervals 1 h, 2 h, 4 h, then capped at 4 h (rounded up to the next 20-min repeat)
    assert [b - a for a, b in pairwise(times)] == [60, 120, 240, 240, 240]
    assert state["sent"] == len(times)


def test_realert_and_resolve_keep_the_incident_id_but_new_idempotency_keys() -> None:
    policy = LifecyclePolicy(cooldown_seconds=1800, realert_after_seconds=600)
    state, d1 = observe(None, at(0, 1), now=at(0, 1).last_seen.timestamp(), policy=policy)
    state, d2 = observe(state, at(15, 2), now=at(15, 2).last_seen.timestamp(), policy=policy)
    state2, d3 = expire(state, now=BASE_TS + 15 * 60 + 1801, policy=policy)
    notes = [*d1.notifications, *d2.notifications, *(d3.notifications if d3 else ())]
    assert [n.kind for n in notes] == ["trigger", "realert", "resolve"]
    assert {n.alert.alert_id for n in notes} == {at(0, 1).alert_id}
    assert len({n.idempotency_key for n in notes}) == 3
    assert notes[1].occurrences == 2 and state2 is None


def test_expire_keeps_a_live_incident_and_drops_a_never_sent_one() -> None:
    state, _ = observe(None, at(0, 1), now=BASE_TS, policy=POLICY, mute="silenced by s1")
    assert expire(state, now=BASE_TS + 60, policy=POLICY) == (state, None)
    gone, d = expire(state, now=BASE_TS + 1801, policy=POLICY)
    assert gone is None and d is not None and d.notifications == ()


def test_same_alert_twice_is_a_duplicate_and_changes_nothing() -> None:
    a = at(0, 1)
    state, _ = observe(None, a, now=a.last_seen.timestamp(), policy=POLICY)
    again, d = observe(state, a, now=a.last_seen.timestamp(), policy=POLICY)
    assert d.action == "duplicate" and again == state and d.notifications == ()


def test_new_incident_after_the_cooldown_resolves_the_old_and_pages_again() -> None:
    a, b = at(0, 1), at(120, 2)
    state, _ = observe(None, a, now=a.last_seen.timestamp(), policy=POLICY)
    state, d = observe(state, b, now=b.last_seen.timestamp(), policy=POLICY)
    assert d.action == "notify"
    assert [(n.kind, n.alert.alert_id) for n in d.notifications] == [
        ("resolve", a.alert_id), ("trigger", b.alert_id)]


def test_muted_alert_is_recorded_and_pages_once_unmuted() -> None:
    a, b, c = at(0, 1), at(5, 2), at(10, 3)
    state, d = observe(None, a, now=a.last_seen.timestamp(), policy=POLICY, mute="silenced")
    assert d.action == "muted" and not d.notifications and state["muted"] == "silenced"
    state, d = observe(state, b, now=b.last_seen.timestamp(), policy=POLICY, mute="silenced")
    assert d.action == "muted" and state["count"] == 2
    state, d = observe(state, c, now=c.last_seen.timestamp(), policy=POLICY)
    assert d.action == "notify" and d.notifications[0].occurrences == 3


def test_observe_does_not_mutate_the_given_state() -> None:
    a = at(0, 1)
    state, _ = observe(None, a, now=a.last_seen.timestamp(), policy=POLICY)
    frozen = copy.deepcopy(state)
    observe(state, at(5, 2), now=BASE_TS + 300, policy=POLICY)
    assert state == frozen
    assert state_key(a) == "failed_login_burst/user/alice"
    assert partition_key(a) == "alice"
    ip_alert = make_alert(key_kind="source_ip", key="203.0.113.7", user=None)
    assert partition_key(ip_alert) == "203.0.113.7"


def test_mute_reason_names_the_silence_or_the_inhibition_rule() -> None:
    labels = at(0, 1).label_set()
    silence = Silence(id="s1", matchers=Matchers(labels={"user": "alice"}), starts_at=BASE_TS,
                      ends_at=BASE_TS + 60, reason="pentest", created_by="bob")
    assert mute_reason(labels, now=BASE_TS + 1, silences=[silence]) == "silenced by s1 (pentest)"
    assert mute_reason(labels, now=BASE_TS + 61, silences=[silence]) is None
    rule = InhibitRule(name="lockout", source=Matchers(detector="account_lockout"),
                       target=Matchers(detector="failed_login_burst"), equal=("user",))
    lockout = make_alert(detector="account_lockout").label_set()
    src = inhibit_source(lockout, [rule], until=BASE_TS + 600)
    assert src is not None
    assert mute_reason(labels, now=BASE_TS, inhibit_rules=[rule],
                       inhibit_sources=[src]) == "inhibited by lockout"
    assert mute_reason(labels, now=BASE_TS + 601, inhibit_rules=[rule],
                       inhibit_sources=[src]) is None
    bob = make_alert(key="bob").model_copy(update={"user": "bob"}).label_set()
    assert mute_reason(bob, now=BASE_TS, inhibit_rules=[rule], inhibit_sources=[src]) is None


def test_remember_source_refreshes_prunes_and_ignores_non_sources() -> None:
    from alerts.inhibition import remember_source

    rule = InhibitRule(source=Matchers(detector="account_lockout"),
                       target=Matchers(detector="failed_login_burst"), equal=("user",))
    lockout = make_alert(detector="account_lockout").label_set()
    sources = remember_source([], lockout, [rule], until=100, now=0)
    sources = remember_source(sources, lockout, [rule], until=200, now=50)
    assert sources == [{"labels": lockout, "until": 200}]
    assert remember_source(sources, at(0, 1).label_set(), [rule], until=300, now=60) == sources
    assert remember_source(sources, at(0, 1).label_set(), [rule], until=300, now=250) == []
