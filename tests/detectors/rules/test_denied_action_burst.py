from detectors.findings import Finding
from detectors.rules.denied_action_burst import DeniedActionBurst, DeniedActionBurstConfig
from detectors.testing import make_event


def run(
    times: list[float], *, n: int = 5, t: float = 600, lateness: float = 300, **fields: object
) -> list[Finding]:
    det = DeniedActionBurst(
        DeniedActionBurstConfig(threshold=n, window_seconds=t), allowed_lateness_seconds=lateness
    )
    state, out = None, []
    for i, ts in enumerate(times):
        base = {
            "action": ("view", "delete")[i % 2],
            "outcome": "denied",
            "resource": "db/prod/customers",
        }
        ev = make_event(ts=ts, **(base | fields))
        if det.accepts(ev):
            state, found = det.step(state, ev)
            out += found
    return out


def test_n_denials_within_window_fire_once() -> None:
    found = run([0, 100, 200, 300, 400])
    assert len(found) == 1
    f = found[0]
    assert (f.detector, f.key, f.severity, f.evidence["count"]) == (
        "denied_action_burst",
        "alice",
        "medium",
        5,
    )
    assert f.evidence["actions"] == {"view": 3, "delete": 2}
    assert f.evidence["resources"] == ["db/prod/customers"]
    assert "alice was denied 5 times within 6 min 40 s (view x3, delete x2)" in f.explanation
    assert "(threshold: 5 within 10 min)" in f.explanation


def test_n_minus_one_denials_do_not_fire() -> None:
    assert run([0, 100, 200, 300]) == []


def test_window_is_inclusive_at_its_edge() -> None:
    assert len(run([0, 150, 300, 450, 600])) == 1
    assert run([0, 150, 300, 450, 600.001]) == []


def test_out_of_order_within_lateness_counts() -> None:
    assert len(run([0, 100, 300, 400, 200])) == 1


def test_late_beyond_lateness_is_ignored() -> None:
    assert run([1000, 1010, 1020, 1030, 600], lateness=300) == []


def test_one_incident_per_burst_and_a_new_one_after_a_gap() -> None:
    found = run([i * 10 for i in range(12)] + [5000 + i * 10 for i in range(5)])
    assert len(found) == 2 and found[0].incident != found[1].incident


def test_only_denied_outcomes_count() -> None:
    assert run([0, 1, 2, 3, 4], outcome="failure") == []
    assert run([0, 1, 2, 3, 4], outcome="success") == []
