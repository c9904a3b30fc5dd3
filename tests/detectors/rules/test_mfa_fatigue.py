from detectors.findings import Finding
from detectors.rules.mfa_fatigue import MfaFatigue, MfaFatigueConfig
from detectors.testing import make_event


def run(
    prompts: list[tuple[float, str]], *, n: int = 5, t: float = 600, lateness: float = 300
) -> list[Finding]:
    det = MfaFatigue(
        MfaFatigueConfig(threshold=n, window_seconds=t), allowed_lateness_seconds=lateness
    )
    state, out = None, []
    for ts, outcome in prompts:
        ev = make_event(ts=ts, action="mfa", outcome=outcome, mfa="push")
        if det.accepts(ev):
            state, found = det.step(state, ev)
            out += found
    return out


def rejected(times: list[float], outcome: str = "failure") -> list[tuple[float, str]]:
    return [(ts, outcome) for ts in times]


def test_n_rejected_prompts_within_window_fire_high_once() -> None:
    found = run(rejected([0, 60, 120]) + rejected([180, 240, 300], "denied"))
    assert len(found) == 1
    f = found[0]
    assert (f.detector, f.severity, f.evidence["count"]) == ("mfa_fatigue", "high", 5)
    assert "alice rejected or failed 5 MFA prompts within 4 min" in f.explanation


def test_n_minus_one_prompts_do_not_fire_even_with_a_success() -> None:
    assert run([*rejected([0, 60, 120, 180]), (200, "success")]) == []


def test_window_is_inclusive_at_its_edge() -> None:
    assert len(run(rejected([0, 150, 300, 450, 600]))) == 1
    assert run(rejected([0, 150, 300, 450, 600.001])) == []


def test_success_right_after_the_storm_is_a_separate_critical_finding() -> None:
    found = run([*rejected([0, 30, 60, 90, 120, 150]), (200, "success")])
    assert [f.severity for f in found] == ["high", "critical"]
    burst, gave_in = found
    assert gave_in.alert_id != burst.alert_id
    assert gave_in.evidence["rejected_prompts"] == 6
    assert gave_in.evidence["seconds_after_last_prompt"] == 50
    assert gave_in.evidence["burst_incident"] == burst.incident
    assert "gave in" in gave_in.explanation


def test_success_exactly_t_after_the_last_prompt_is_critical_just_after_is_not() -> None:
    storm = rejected([0, 10, 20, 30, 40])
    assert [f.severity for f in run([*storm, (640, "success")])] == ["high", "critical"]
    assert [f.severity for f in run([*storm, (640.001, "success")])] == ["high"]


def test_only_one_critical_per_storm() -> None:
    found = run([*rejected([0, 10, 20, 30, 40]), (50, "success"), (60, "success")])
    assert [f.severity for f in found] == ["high", "critical"]


def test_out_of_order_prompt_within_lateness_counts() -> None:
    assert len(run(rejected([0, 60, 180, 240, 120]))) == 1


def test_late_prompt_beyond_lateness_is_ignored() -> None:
    assert run(rejected([1000, 1010, 1020, 1030, 600]), lateness=300) == []


def test_success_without_a_storm_keeps_no_state() -> None:
    det = MfaFatigue(MfaFatigueConfig())
    assert det.step(None, make_event(action="mfa", outcome="success")) == (None, [])
    assert not det.accepts(make_event(action="login", outcome="failure"))
