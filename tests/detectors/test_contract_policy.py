"""The detector contract again, for the policy detectors under the example policy and the
scenario with every policy attack planted (the default config leaves them idle)."""

import copy
import json

import pytest

from detectors.registry import DETECTORS
from detectors.scenario import POLICY_ATTACKS, ScenarioSpec, generate, policy_config
from tests.detectors.test_contract import feed


@pytest.fixture(scope="module")
def events() -> list:
    spec = ScenarioSpec(users=20, hours=6, seed=7, policy_traffic=True, attacks=POLICY_ATTACKS)
    return [ev for ev, _ in generate(spec)]


def make(name: str):  # type: ignore[no-untyped-def]
    return DETECTORS[name](getattr(policy_config().detectors, name))


@pytest.mark.parametrize("name", POLICY_ATTACKS)
def test_same_input_same_output_and_events_untouched(name: str, events: list) -> None:
    before = copy.deepcopy(events)
    first = feed(make(name), events, {})
    assert first, "the planted attack should be found"
    assert feed(make(name), events, {}) == first
    assert events == before


@pytest.mark.parametrize("name", POLICY_ATTACKS)
def test_state_survives_a_json_round_trip_mid_stream(name: str, events: list) -> None:
    straight = feed(make(name), events, {})
    for cut in (len(events) // 3, len(events) // 2):
        states: dict = {}
        resumed = feed(make(name), events[:cut], states)
        states = json.loads(json.dumps(states))
        resumed += feed(make(name), events[cut:], states)
        assert resumed == straight
