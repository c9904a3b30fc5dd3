from detectors.findings import Finding
from detectors.rules.failed_login_burst import FailedLoginBurst, FailedLoginBurstConfig
from detectors.testing import make_event


def run(times: list[float], *, n: int = 5, t: float = 300, lateness: float = 300,
        **fields: object) -> list[Finding]:
    det = FailedLoginBurst(
        FailedLoginBurstConfig(threshold=n, window_seconds=t), allowed_lateness_seconds=lateness
    )
    state, out = None, []
    for ts in times:
        ev = make_event(ts=ts, **({"outcome": "failure"} | fields))
        if det.accepts(ev):
            state, found = det.step(state, ev)
            out += found
    return out


def test_n_failures_within_window_fire_once() -> None:
    found = run([0, 60, 120, 180, 240])
    assert len(found) == 1
    f = found[0]
    assert (f.detector, f.key, f.severity, f.evidence["count"]) == (
        "failed_login_burst", "alice", "high", 5)
    assert len(f.event_ids) == 5 and f.source_ips == ("203.0.113.7",)
    assert "5 times within 4 min" in f.explanation


def test_n_minus_one_failures_do_not_fire() -> None:
    assert run([0, 60, 120, 180]) == []


def test_window_is_inclusive_at_its_edge() -> None:
    assert len(run([0, 100, 200, 250, 300])) == 1


def test_failure_just_outside_the_window_does_not_fire() -> None:
    assert run([0, 100, 200, 250, 300.001]) == []


def test_out_of_order_failure_within_lateness_completes_a_burst() -> None:
    assert len(run([0, 60, 180, 240, 120])) == 1


def test_failure_later_than_allowed_lateness_is_ignored() -> None:
    assert run([1000, 1010, 1020, 1030, 600], lateness=300) == []


def test_repeats_extend_the_incident_instead_of_firing_again() -> None:
    assert len(run([0, 10, 20, 30, 40, 50, 60, 70, 80, 90])) == 1


def test_a_new_burst_after_a_quiet_gap_is_a_new_incident() -> None:
    found = run([0, 10, 20, 30, 40, 1000, 1010, 1020, 1030, 1040])
    assert len(found) == 2 and found[0].alert_id != found[1].alert_id


def test_successes_and_other_actions_are_not_counted() -> None:
    assert run([0, 10, 20, 30, 40], outcome="success") == []
    assert run([0, 10, 20, 30, 40], action="view") == []
