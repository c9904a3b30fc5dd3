from detectors.findings import Finding
from detectors.rules.password_spray import PasswordSpray, PasswordSprayConfig
from detectors.testing import make_event


def run(
    attempts: list[tuple[float, str]],
    *,
    m: int = 4,
    t: float = 600,
    lateness: float = 300,
    **fields: object,
) -> list[Finding]:
    det = PasswordSpray(
        PasswordSprayConfig(threshold=m, window_seconds=t), allowed_lateness_seconds=lateness
    )
    state, out = None, []
    for ts, user in attempts:
        ev = make_event(
            ts=ts, user=user, source_ip="198.51.100.7", **({"outcome": "failure"} | fields)
        )
        if det.accepts(ev):
            state, found = det.step(state, ev)
            out += found
    return out


def users(times: list[float]) -> list[tuple[float, str]]:
    return [(ts, f"u{i}") for i, ts in enumerate(times)]


def test_m_distinct_users_within_window_fire_once() -> None:
    found = run(users([0, 100, 200, 300]))
    assert len(found) == 1
    f = found[0]
    assert (f.detector, f.key_kind, f.key, f.severity) == (
        "password_spray",
        "source_ip",
        "198.51.100.7",
        "high",
    )
    assert f.evidence["distinct_users"] == 4 and f.evidence["users"] == ["u0", "u1", "u2", "u3"]
    assert f.evidence["threshold"] == 4 and f.evidence["window_seconds"] == 600
    assert "198.51.100.7 failed to log in as 4 different users within 5 min" in f.explanation
    assert f.incident == f.event_ids[0] and len(f.event_ids) == 4


def test_m_minus_one_distinct_users_do_not_fire() -> None:
    assert run(users([0, 100, 200])) == []


def test_many_failures_against_few_users_are_not_a_spray() -> None:
    assert run([(i * 10, f"u{i % 3}") for i in range(30)]) == []


def test_window_is_inclusive_at_its_edge() -> None:
    assert len(run(users([0, 200, 400, 600]))) == 1
    assert run(users([0, 200, 400, 600.001])) == []


def test_out_of_order_within_lateness_counts() -> None:
    assert len(run(users([0, 100, 300, 200]))) == 1


def test_late_beyond_lateness_is_ignored() -> None:
    assert run(users([1000, 1100, 1200, 600]), lateness=300) == []


def test_spray_goes_on_as_one_incident_then_a_new_one_after_a_gap() -> None:
    first = users([i * 60 for i in range(12)])
    later = [(5000 + i * 60, f"v{i}") for i in range(4)]
    found = run(first + later)
    assert len(found) == 2 and found[0].alert_id != found[1].alert_id


def test_user_list_is_capped() -> None:
    found = run(users([i for i in range(30)]), m=30)
    assert found[0].evidence["distinct_users"] == 30 and len(found[0].evidence["users"]) == 20


def test_successes_and_other_actions_are_ignored() -> None:
    assert run(users([0, 1, 2, 3]), outcome="success") == []
    assert run(users([0, 1, 2, 3]), action="view") == []
