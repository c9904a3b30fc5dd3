"""The scenario under the example policy: benign traffic is quiet, planted attacks are caught."""

from collections import Counter

import pytest

from detectors.config import Config, default_config
from detectors.engine import Engine
from detectors.scenario import POLICY_ATTACKS, ScenarioSpec, generate, policy_config

MINE = set(POLICY_ATTACKS)


def test_example_policy_enables_the_policy_detectors_the_default_does_not() -> None:
    example, default = policy_config().detectors, default_config().detectors
    for name in MINE:
        assert getattr(example, name).enabled
        assert not getattr(default, name).enabled
    assert example.unscheduled_access.environments == ("production",)


def test_shipped_default_file_matches_the_model_defaults() -> None:
    assert default_config() == Config()


def test_default_spec_still_plants_only_brute_force() -> None:
    labels = {label for _, label in generate(ScenarioSpec())}
    assert labels == {None, "brute_force"}


def test_benign_traffic_under_the_policy_yields_no_policy_findings() -> None:
    events = generate(ScenarioSpec(users=50, hours=8, policy_traffic=True, attacks=()))
    kinds = Counter(ev.action for ev, _ in events)
    assert kinds["token_use"] > 100 and kinds["elevate"] == 1 and kinds["key_create"] == 3
    found = list(Engine(policy_config(), only=MINE).run(ev for ev, _ in events))
    assert found == []


@pytest.mark.parametrize("attack", POLICY_ATTACKS)
def test_each_planted_attack_is_caught_by_its_detector_only(attack: str) -> None:
    events = generate(ScenarioSpec(users=20, hours=2, policy_traffic=True, attacks=(attack,)))
    label = {ev.event_id: lab for ev, lab in events}
    found = list(Engine(policy_config(), only=MINE).run(ev for ev, _ in events))
    assert found
    assert {f.detector for f in found} == {attack}
    assert all(label[f.event_ids[-1]] == attack for f in found)


def test_all_attacks_together_give_the_expected_rules() -> None:
    events = generate(ScenarioSpec(users=20, hours=2, attacks=POLICY_ATTACKS))
    found = Engine(policy_config(), only=MINE).run(ev for ev, _ in events)
    assert Counter((f.detector, f.evidence["rule"]) for f in found) == {
        ("policy_violation", "no_role_allows"): 1,
        ("unscheduled_access", "outside_schedule"): 2,
        ("elevation_abuse", "too_long"): 1,
        ("elevation_abuse", "self_approved"): 1,
        ("elevation_abuse", "missing_ticket"): 1,
        ("elevation_abuse", "expired_use"): 1,
        ("credential_hygiene", "stale"): 1,
        ("credential_hygiene", "unrotated"): 1,
        ("credential_hygiene", "new_principal"): 1,
        ("credential_hygiene", "revoked"): 1,
    }


def test_policy_scenario_is_deterministic() -> None:
    spec = ScenarioSpec(users=5, hours=1, policy_traffic=True, attacks=POLICY_ATTACKS)
    assert generate(spec) == generate(spec)
