"""Contract every registered detector honours (see STYLE.md, habit 3)."""

import copy
import json

import pytest

from detectors.config import Config
from detectors.ml.scenarios import MlScenarioSpec, generate_ml
from detectors.registry import DETECTORS
from detectors.scenario import ATTACKS, POLICY_ATTACKS, ScenarioSpec, generate, policy_config


@pytest.fixture(scope="module")
def events() -> list:
    return [ev for ev, _ in generate(ScenarioSpec(users=30, hours=6, seed=7))]


#: Every (detector, key kind) the engine runs: a detector with several key_kinds runs per kind.
RUNS = sorted((name, kind) for name, cls in DETECTORS.items() for kind in cls.key_kinds)


def feed(det, events, state_by_key):
    out = []
    for ev in events:
        key = {"user": ev.user, "source_ip": ev.source_ip, "credential": ev.credential_id}[
            det.kind]
        if key is None or not det.accepts(ev):
            continue
        new, found = det.step(state_by_key.get(key), ev)
        state_by_key[key] = new
        out += found
    return out


@pytest.mark.parametrize(("name", "kind"), RUNS)
def test_same_input_same_output(name: str, kind: str, events: list) -> None:
    cls = DETECTORS[name]
    section = getattr(Config().detectors, name)
    first = feed(cls(section, kind=kind), events, {})
    second = feed(cls(section, kind=kind), events, {})
    assert first == second


@pytest.mark.parametrize(("name", "kind"), RUNS)
def test_events_are_not_mutated(name: str, kind: str, events: list) -> None:
    before = copy.deepcopy(events)
    feed(DETECTORS[name](getattr(Config().detectors, name), kind=kind), events, {})
    assert events == before


@pytest.mark.parametrize(("name", "kind"), RUNS)
def test_state_survives_a_json_round_trip_mid_stream(name: str, kind: str, events: list) -> None:
    cls = DETECTORS[name]
    section = getattr(Config().detectors, name)
    half = len(events) // 2
    straight = feed(cls(section, kind=kind), events, {})
    states: dict = {}
    before = cls(section, kind=kind)
    resumed = feed(before, events[:half], states)
    states = json.loads(json.dumps(states))
    after = cls(section, kind=kind)
    if hasattr(before, "checkpoint"):  # a shared model lives in the instance, not in states
        after.restore(before.checkpoint())
    resumed += feed(after, events[half:], states)
    assert resumed == straight


@pytest.mark.parametrize(("name", "kind"), RUNS)
def test_findings_carry_the_kind_they_were_found_under(name: str, kind: str) -> None:
    spec = ScenarioSpec(users=30, hours=6, seed=7, attacks=ATTACKS)
    events = [ev for ev, _ in generate(spec)]
    config = policy_config() if name in POLICY_ATTACKS else Config()  # policy rules need one
    section = getattr(config.detectors, name)
    if name == "behaviour_anomaly":  # needs days of behaviour to warm up: its own scenario
        events = [ev for ev, _ in generate_ml(MlScenarioSpec(users=20, days=7, seed=3))]
        section = section.model_copy(update={
            "warmup_events": 40, "model_warmup_events": 500, "threshold_half_life_events": 2000})
    found = feed(DETECTORS[name](section, kind=kind), events, {})
    assert found, "every detector catches its planted attack"
    assert all(f.detector == name and f.key_kind == kind for f in found)


def test_every_detector_has_a_config_section_named_after_it() -> None:
    for name, cls in DETECTORS.items():
        assert cls.name == name
        assert isinstance(getattr(Config().detectors, name), cls.config_model)
