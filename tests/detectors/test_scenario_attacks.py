import json
from collections import Counter, defaultdict

import pytest

from detectors.config import default_config
from detectors.engine import Engine
from detectors.scenario import ATTACKS, POLICY_ATTACKS, ScenarioSpec, generate


def test_benign_traffic_triggers_nothing_at_default_thresholds() -> None:
    events = [ev for ev, _ in generate(ScenarioSpec(users=200, hours=24, attacks=()))]
    assert len(events) > 50000
    assert list(Engine(default_config()).run(events)) == []


def test_default_spec_still_plants_only_brute_force() -> None:
    labels = {label for _, label in generate(ScenarioSpec())}
    assert labels == {None, "brute_force"}


def test_unknown_attack_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown attacks"):
        generate(ScenarioSpec(attacks=("teleport",)))


@pytest.mark.parametrize(
    "attack", [a for a in ATTACKS if a != "brute_force" and a not in POLICY_ATTACKS]
)  # the policy attacks need the example policy: tests/detectors/test_scenario_policy.py
def test_each_planted_attack_is_caught_by_the_detector_named_after_it_alone(attack: str) -> None:
    labelled = generate(ScenarioSpec(users=40, hours=4, attacks=(attack,)))
    label_of = {ev.event_id: label for ev, label in labelled}
    found = list(Engine(default_config()).run(ev for ev, _ in labelled))
    assert found and {f.detector for f in found} == {attack}
    for f in found:
        assert Counter(label_of[e] for e in f.event_ids)[attack] >= 1


def test_whole_key_state_stays_small_with_every_attack_planted() -> None:
    labelled = generate(ScenarioSpec(users=50, hours=6, attacks=ATTACKS))
    engine = Engine(default_config())
    tables: dict = defaultdict(dict)
    largest = 0
    for ev, _ in labelled:
        for kind in engine.key_kinds:
            key = engine.key_for(kind, ev)
            if key is not None:
                tables[kind][key], _ = engine.step(kind, tables[kind].get(key), ev)
                largest = max(largest, len(json.dumps(tables[kind][key])))
    assert largest < 2048
