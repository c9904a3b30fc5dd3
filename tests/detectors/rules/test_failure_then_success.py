from typing import Any

import pytest

from detectors.events import AccessEvent
from detectors.findings import Finding
from detectors.rules.failure_then_success import FailureThenSuccess, FailureThenSuccessConfig
from detectors.testing import make_event


def run(
    logins: list[tuple[float, str]],
    *,
    kind: str = "user",
    k: int = 3,
    t: float = 600,
    lateness: float = 300,
    users: list[str] | None = None,
) -> list[Finding]:
    det = FailureThenSuccess(
        FailureThenSuccessConfig(threshold=k, window_seconds=t),
        allowed_lateness_seconds=lateness,
        kind=kind,
    )
    return feed(
        det,
        [
            make_event(
                ts=ts,
                user=users[i] if users else "alice",
                outcome=outcome,
                source_ip="198.51.100.8",
            )
            for i, (ts, outcome) in enumerate(logins)
        ],
    )


def feed(det: FailureThenSuccess, events: list[AccessEvent]) -> list[Finding]:
    states: dict[str, Any] = {}  # keyed as the engine keys them
    out = []
    for ev in events:
        key = ev.user if det.kind == "user" else ev.source_ip
        assert key is not None
        if det.accepts(ev):
            states[key], found = det.step(states.get(key), ev)
            out += found
    return out


def fails(*times: float) -> list[tuple[float, str]]:
    return [(ts, "failure") for ts in times]


def test_k_failures_then_success_within_window_fire() -> None:
    found = run([*fails(0, 100, 200), (300, "success")])
    assert len(found) == 1
    f = found[0]
    assert (f.detector, f.key_kind, f.key, f.severity) == (
        "failure_then_success",
        "user",
        "alice",
        "high",
    )
    assert f.evidence["failures"] == 3 and f.evidence["span_seconds"] == 300
    assert f.incident == f.event_ids[0] and len(f.event_ids) == 4
    assert f.explanation.startswith(
        "alice logged in from 198.51.100.8 after failing 3 times within 5 min"
    )
    assert "possible compromise" in f.explanation


def test_k_minus_one_failures_then_success_do_not_fire() -> None:
    assert run([*fails(0, 100), (300, "success")]) == []


def test_window_runs_from_first_failure_to_success_inclusive() -> None:
    assert len(run([*fails(0, 100, 200), (600, "success")])) == 1
    assert run([*fails(0, 100, 200), (600.001, "success")]) == []


def test_failures_without_success_do_not_fire() -> None:
    assert run(fails(*range(0, 100, 10))) == []


def test_a_success_resets_the_count_and_fires_once() -> None:
    found = run(
        [*fails(0, 10, 20), (30, "success"), (40, "success"), *fails(50, 60), (70, "success")]
    )
    assert len(found) == 1


def test_a_new_run_of_failures_is_a_new_incident() -> None:
    found = run([*fails(0, 10, 20), (30, "success"), *fails(40, 50, 60), (70, "success")])
    assert len(found) == 2 and found[0].alert_id != found[1].alert_id


def test_out_of_order_failure_within_lateness_counts() -> None:
    assert len(run([*fails(0, 100), (300, "success"), *fails(200)], k=3)) == 0  # after success
    assert len(run([*fails(0, 200, 100), (300, "success")])) == 1


def test_late_failure_beyond_lateness_is_ignored() -> None:
    assert run(fails(1000, 1100) + fails(500) + [(1150, "success")], lateness=300) == []


def test_per_source_ip_counts_failures_across_users() -> None:
    found = run(
        [*fails(0, 10, 20), (30, "success")], kind="source_ip", users=["ann", "bob", "cy", "cy"]
    )
    assert len(found) == 1
    f = found[0]
    assert (f.key_kind, f.key, f.user) == ("source_ip", "198.51.100.8", "cy")
    assert f.evidence["users"] == ["ann", "bob", "cy"]
    assert f.explanation.startswith(
        "A login from 198.51.100.8 as cy succeeded after 3 failed logins from that address"
    )
    per_user = run([*fails(0, 10, 20), (30, "success")], users=["ann", "bob", "cy", "cy"])
    assert per_user == []


def test_alert_ids_differ_per_key_kind() -> None:
    events = [make_event(ts=ts, outcome=o) for ts, o in [*fails(0, 10, 20), (30, "success")]]
    cfg = FailureThenSuccessConfig(threshold=3)
    by_user = feed(FailureThenSuccess(cfg), events)
    by_ip = feed(FailureThenSuccess(cfg, kind="source_ip"), events)
    assert by_user[0].incident == by_ip[0].incident
    assert by_user[0].alert_id != by_ip[0].alert_id


def test_unknown_kind_is_refused() -> None:
    with pytest.raises(ValueError, match="keeps no state per credential"):
        FailureThenSuccess(FailureThenSuccessConfig(), kind="credential")


def test_per_source_ip_threshold_can_differ() -> None:
    logins = [*fails(0, 10, 20), (30, "success")]
    assert len(run(logins, kind="source_ip")) == 1
    det = FailureThenSuccess(
        FailureThenSuccessConfig(threshold=3, source_ip_threshold=4), kind="source_ip"
    )
    assert feed(det, [make_event(ts=ts, outcome=o) for ts, o in logins]) == []
    by_user = FailureThenSuccess(FailureThenSuccessConfig(threshold=3, source_ip_threshold=4))
    assert len(feed(by_user, [make_event(ts=ts, outcome=o) for ts, o in logins])) == 1
