"""Contract every registered detector honours (see STYLE.md, habit 3)."""

import copy
import json

import pytest

from detectors.config import Config
from detectors.registry import DETECTORS
from detectors.scenario import ScenarioSpec, generate


@pytest.fixture(scope="module")
def events() -> list:
    return [ev for ev, _ in generate(ScenarioSpec(users=30, hours=6, seed=7))]


def feed(det, events, state_by_key):
    out = []
    for ev in events:
        key = {"user": ev.user, "source_ip": ev.source_ip, "credential": ev.credential_id}[
            det.key_kind]
        if key is None or not det.accepts(ev):
            continue
        new, found = det.step(state_by_key.get(key), ev)
        state_by_key[key] = new
        out += found
    return out


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_same_input_same_output(name: str, events: list) -> None:
    cls = DETECTORS[name]
    section = getattr(Config().detectors, name)
    first = feed(cls(section), events, {})
    second = feed(cls(section), events, {})
    assert first == second


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_events_are_not_mutated(name: str, events: list) -> None:
    before = copy.deepcopy(events)
    feed(DETECTORS[name](getattr(Config().detectors, name)), events, {})
    assert events == before


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_state_survives_a_json_round_trip_mid_stream(name: str, events: list) -> None:
    cls = DETECTORS[name]
    section = getattr(Config().detectors, name)
    half = len(events) // 2
    straight = feed(cls(section), events, {})
    states: dict = {}
    before = cls(section)
    resumed = feed(before, events[:half], states)
    states = json.loads(json.dumps(states))
    after = cls(section)
    if hasattr(before, "checkpoint"):  # a shared model lives in the instance, not in states
        after.restore(before.checkpoint())
    resumed += feed(after, events[half:], states)
    assert resumed == straight


def test_every_detector_has_a_config_section_named_after_it() -> None:
    for name, cls in DETECTORS.items():
        assert cls.name == name
        assert isinstance(getattr(Config().detectors, name), cls.config_model)
