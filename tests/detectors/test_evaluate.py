"""Scoring detectors on the labelled scenario."""

from detectors.config import Config
from detectors.engine import Engine
from detectors.evaluate import (
    FALSE_ALERTS_TARGET,
    RULE_DETECTORS,
    default_eval_spec,
    detector_for_label,
    evaluate,
    evaluate_scenario,
    merge,
)
from detectors.registry import DETECTORS
from detectors.scenario import ATTACKS, ScenarioSpec, generate, policy_config


def test_every_detector_catches_its_planted_attacks_without_false_alerts() -> None:
    ev = evaluate_scenario(default_eval_spec(users=60, hours=3))
    assert set(ev.scores) == set(RULE_DETECTORS) == {detector_for_label(a) for a in ATTACKS}
    assert set(RULE_DETECTORS) <= set(DETECTORS)
    for s in ev.scores.values():
        assert s.planted >= 1 and s.detected == s.planted, s
        assert s.precision == 1.0 and s.recall == 1.0
        assert len(s.delays) == s.detected and all(d >= 0 for d in s.delays)
    assert ev.scores["elevation_abuse"].planted == 2
    assert ev.scores["credential_hygiene"].planted == 3
    assert ev.scores["failure_then_success"].delays == [590.0]  # 5 failures, success at +590 s
    assert ev.false_findings == 0 and ev.false_alerts_met()
    assert ev.benign_events == sum(1 for _, label in generate(default_eval_spec(60, 3))
                                   if label is None)


def test_a_disabled_detector_is_missed_and_a_noisy_one_has_false_alerts() -> None:
    labelled = generate(ScenarioSpec(users=40, hours=2, attacks=("brute_force",)))
    cfg = Config.model_validate({"detectors": {
        "failed_login_burst": {"enabled": False},
        "denied_action_burst": {"threshold": 2, "window_seconds": 86400},
    }})
    ev = evaluate(labelled, Engine(cfg, only=RULE_DETECTORS))
    missed = ev.scores["failed_login_burst"]
    assert (missed.planted, missed.detected, missed.recall) == (1, 0, 0.0)
    assert ev.recall_met(missed) is False
    noisy = ev.scores["denied_action_burst"]
    assert noisy.planted == 0 and noisy.recall is None and noisy.findings > 0
    assert noisy.precision == 0.0
    assert ev.false_per_100k(noisy) > FALSE_ALERTS_TARGET and not ev.false_alerts_met()


def test_merge_pools_runs() -> None:
    runs = [evaluate_scenario(default_eval_spec(users=20, hours=2, seed=s), policy_config())
            for s in (1, 2)]
    pooled = merge(runs)
    assert pooled.events == runs[0].events + runs[1].events
    assert pooled.scores["mfa_missing"].planted == 2
    assert pooled.scores["mfa_missing"].delays == [0.0, 0.0]
