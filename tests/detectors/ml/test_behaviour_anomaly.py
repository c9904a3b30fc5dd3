import copy
import json

import pytest

from detectors.config import Config
from detectors.engine import Engine
from detectors.ml.behaviour_anomaly import BehaviourAnomaly
from detectors.testing import make_event
from tests.detectors.ml.conftest import run, small_config


def test_same_seed_same_scores_and_findings(ml_rows: list) -> None:
    for model in ("tail_hist", "gaussian", "hst"):
        first = run(BehaviourAnomaly(small_config(model=model, seed=7)), ml_rows, {})
        second = run(BehaviourAnomaly(small_config(model=model, seed=7)), ml_rows, {})
        assert first == second
        assert any(score is not None for _, score, _ in first)


def test_warmup_per_user_no_score_no_alert(ml_rows: list) -> None:
    cfg = small_config(warmup_events=60)
    det = BehaviourAnomaly(cfg)
    states: dict = {}
    seen: dict[str, int] = {}
    for ev, _ in ml_rows:
        n = seen.get(ev.user, 0)
        states[ev.user], found = det.step(states.get(ev.user), ev)
        seen[ev.user] = n + 1
        if n < cfg.warmup_events:
            assert det.last_score is None
            assert found == []
        else:
            assert det.last_score is not None


def test_no_alert_before_the_shared_model_warmed_up(ml_rows: list) -> None:
    det = BehaviourAnomaly(small_config(model_warmup_events=3000, spread=0.0, quantile=0.51))
    states: dict = {}
    for ev, _ in ml_rows:
        states[ev.user], found = det.step(states.get(ev.user), ev)
        if det.learned_events < 3000:
            assert found == []


def test_flagged_events_are_not_learned(ml_rows: list) -> None:
    # A low threshold (around the median) flags many events.
    det = BehaviourAnomaly(small_config(spread=0.0, quantile=0.6))
    states: dict = {}
    flagged = learned = 0
    for ev, _ in ml_rows:
        before = det.learned_events
        states[ev.user], _ = det.step(states.get(ev.user), ev)
        if det.last_score is None:
            assert det.learned_events == before  # user warm-up: not learned either
        elif det.last_flagged:
            flagged += 1
            assert det.learned_events == before
        else:
            learned += 1
            assert det.learned_events == before + 1
    assert flagged > 100 and learned > 100


def test_checkpoint_restore_and_json_state_give_identical_scores(ml_rows: list) -> None:
    half = len(ml_rows) // 4
    for model in ("tail_hist", "gaussian", "hst"):
        straight = BehaviourAnomaly(small_config(model=model, spread=0.0))
        states: dict = {}
        run(straight, ml_rows[:half], states)
        saved = straight.checkpoint()
        copied = json.loads(json.dumps(states))
        restored = BehaviourAnomaly(small_config(model=model, spread=0.0))
        restored.restore(saved)
        expected = run(straight, ml_rows[half:], copy.deepcopy(states))
        got = run(restored, ml_rows[half:], copied)
        assert got == expected
        assert any(ids for _, _, ids in expected)  # the second half does alert


def test_restore_rejects_another_model() -> None:
    saved = BehaviourAnomaly(small_config(model="hst")).checkpoint()
    with pytest.raises(ValueError, match="another model"):
        BehaviourAnomaly(small_config(model="gaussian")).restore(saved)


def _day_worker(det: BehaviourAnomaly, user: str = "alice") -> dict:
    """Ten weekdays of 09:00-17:00 work on three resources, one event every 10 minutes."""
    state = None
    for day in range(12):
        if day % 7 >= 5:
            continue
        for k in range(48):
            ts = day * 86400 + k * 600 + 137 * (k % 3)
            state, _ = det.step(state, make_event(
                ts=ts, user=user, action="view", resource=f"wiki/page{k % 3}"))
    return state


def test_explanation_names_the_off_hours_burst() -> None:
    det = BehaviourAnomaly(small_config(model_warmup_events=200))
    state = _day_worker(det)
    night = 14 * 86400 + 18 * 3600 + 600  # 03:10 UTC on the next Tuesday
    findings = []
    for i in range(40):
        state, found = det.step(state, make_event(
            ts=night + 10 * i, user="alice", action="view", resource=f"wiki/page{i % 3}"))
        findings += found
    assert len(findings) == 1  # one incident
    f = findings[0]
    assert f.detector == "behaviour_anomaly" and f.user == "alice"
    assert "UTC is outside alice's usual 09:00-17:00" in f.explanation
    assert "03:1" in f.explanation
    names = [t["feature"] for t in f.evidence["top_features"]]
    assert names[0] == "hour_rarity"
    assert f.evidence["score"] >= f.evidence["threshold"]
    assert f"threshold {f.evidence['threshold']:.3f}" in f.explanation


def test_engine_fuses_the_score_into_rule_findings() -> None:
    base = Config()
    ml = small_config(model_warmup_events=200)
    rules = base.detectors.failed_login_burst.model_copy(
        update={"escalate_on_anomaly": True, "threshold": 3})
    cfg = base.model_copy(update={"detectors": base.detectors.model_copy(
        update={"behaviour_anomaly": ml, "failed_login_burst": rules})})
    engine = Engine(cfg)
    det = engine._by_kind["user"][0]
    assert isinstance(det, BehaviourAnomaly)  # runs first
    state = None
    for day in range(12):
        if day % 7 >= 5:
            continue
        for k in range(48):
            state, _ = engine.step("user", state, make_event(
                ts=day * 86400 + k * 600, action="view", resource=f"wiki/page{k % 3}"))
    burst = []
    for i in range(3):  # a failed-login burst at 03:00 UTC
        state, found = engine.step("user", state, make_event(
            ts=14 * 86400 + 18 * 3600 + 5 * i, outcome="failure", source_ip="198.51.100.9"))
        burst += found
    rule = [f for f in burst if f.detector == "failed_login_burst"]
    assert len(rule) == 1
    assert "anomaly_score" in rule[0].evidence
    assert rule[0].severity == "critical"  # high, escalated because the model agrees
    assert rule[0].evidence["escalated_by_anomaly"] is True


def test_engine_min_anomaly_score_suppresses_ordinary_rule_findings() -> None:
    base = Config()
    ml = small_config(model_warmup_events=200)
    rules = base.detectors.failed_login_burst.model_copy(
        update={"min_anomaly_score": 0.99, "threshold": 3})
    cfg = base.model_copy(update={"detectors": base.detectors.model_copy(
        update={"behaviour_anomaly": ml, "failed_login_burst": rules})})
    engine = Engine(cfg)
    state = None
    for day in range(8):
        for k in range(48):
            state, _ = engine.step("user", state, make_event(
                ts=day * 86400 + k * 600, action="view", resource=f"wiki/page{k % 3}"))
    assert engine._by_kind["user"][0].model_ready
    found = []
    for i in range(3):  # in working hours, from the usual address: the model sees little
        state, f = engine.step("user", state, make_event(
            ts=8 * 86400 + 3600 + 5 * i, outcome="failure"))
        found += f
    assert [f for f in found if f.detector == "failed_login_burst"] == []


def test_engine_checkpoint_round_trip() -> None:
    engine = Engine(Config())
    saved = engine.checkpoint()
    assert set(saved) == {"behaviour_anomaly"}
    Engine(Config()).restore(saved)
