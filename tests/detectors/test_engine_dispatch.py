"""The engine's dispatch index: declarations hold, and results equal undispatched stepping."""

import copy

import pytest

from detectors.base import Detector
from detectors.config import Config
from detectors.engine import SEEN_IDS, Engine, _short_id
from detectors.ml.behaviour_anomaly import BehaviourAnomalyConfig
from detectors.registry import DETECTORS
from detectors.scenario import ATTACKS, ScenarioSpec, generate, policy_config
from detectors.testing import make_event


@pytest.fixture(scope="module")
def events() -> list:
    spec = ScenarioSpec(users=30, hours=3, seed=11, attacks=ATTACKS, policy_traffic=True)
    return [ev for ev, _ in generate(spec)]


@pytest.mark.parametrize("name", sorted(DETECTORS))
def test_declared_actions_and_outcomes_cover_everything_accepts_takes(name: str, events: list
                                                                      ) -> None:
    cls = DETECTORS[name]
    det = cls(getattr(policy_config().detectors, name))
    odd = [make_event(action=a, outcome=o, environment="production", credential_id="k1",
                      resource="db/prod/x")
           for a in ("login", "mfa", "view", "delete", "elevate", "token_use", "reboot")
           for o in ("success", "failure", "denied")]
    taken = [ev for ev in [*events, *odd] if det.accepts(ev)]
    assert taken, f"{name} accepts none of the sample events"
    for ev in taken:
        assert cls.accepts_actions is None or ev.action in cls.accepts_actions
        assert cls.accepts_outcomes is None or ev.outcome in cls.accepts_outcomes
        assert det.admits(ev.action, ev.outcome)
    if type(det).accepts is Detector.accepts:  # the engine then skips accepts: admits decides
        for ev in [*events, *odd]:
            assert det.accepts(ev) == det.admits(ev.action, ev.outcome)
    for ev in taken:  # the engine skips such calls: they must change nothing
        if det.needs_state(ev.action, ev.outcome):
            assert det.step(None, ev) == (None, [])


def _undispatched(engine: Engine, events: list) -> list:
    """Reference: every kind, every event, through the public step."""
    tables: dict = {k: {} for k in engine.key_kinds}
    out = []
    for ev in events:
        for kind, table in tables.items():
            key = engine.key_for(kind, ev)
            if key is not None:
                new, found = engine.step(kind, table.get(key), ev)
                if new is None:
                    table.pop(key, None)
                else:
                    table[key] = new
                out += found
    return out


@pytest.mark.parametrize("config", [policy_config(), Config()], ids=["policy", "default"])
def test_run_equals_stepping_every_kind(config: Config, events: list) -> None:
    ran = list(Engine(config).run(events))
    assert ran
    assert ran == _undispatched(Engine(config), events)


def test_an_event_no_detector_takes_leaves_state_untouched() -> None:
    engine = Engine(Config(), only=[n for n in DETECTORS if n != "behaviour_anomaly"])
    state = {"failed_login_burst": {"wm": 0.0, "e": [], "open": None}}
    new, found = engine.step("source_ip", state, make_event(action="view"))
    assert new is state and found == []
    assert engine.step("user", None, make_event(action="reboot", outcome="success")) == (None, [])


def test_run_equals_stepping_with_resent_events_and_fused_scores() -> None:
    base = Config()
    ml = BehaviourAnomalyConfig(warmup_events=40, model_warmup_events=200,
                                threshold_half_life_events=2000)
    rules = base.detectors.failed_login_burst.model_copy(
        update={"escalate_on_anomaly": True, "threshold": 3})
    config = base.model_copy(update={"detectors": base.detectors.model_copy(
        update={"behaviour_anomaly": ml, "failed_login_burst": rules})})
    sent = [make_event(ts=day * 86400 + k * 600, action="view", resource=f"wiki/page{k % 3}")
            for day in (0, 1, 2, 3, 4, 7, 8, 9, 10, 11) for k in range(48)]
    sent += [make_event(ts=14 * 86400 + 18 * 3600 + 5 * i, outcome="failure",
                        source_ip="198.51.100.9") for i in range(6)]
    events = []
    for n, ev in enumerate(sent):  # producer retries: at once, and after the seen ids moved on
        events.append(ev)
        if n % 5 == 0:
            events.append(ev)
        if n % 40 == 0 and n >= 20:
            events.append(sent[n - 20])
    ran = list(Engine(config).run(events))
    assert any(f.evidence.get("escalated_by_anomaly") for f in ran)
    assert any(f.detector == "behaviour_anomaly" for f in ran)
    assert ran == _undispatched(Engine(config), events)


def test_a_key_remembers_its_last_sixteen_event_ids_and_reads_states_written_before() -> None:
    engine = Engine(Config(), only=["failed_login_burst"])
    fails = [make_event(ts=i, outcome="failure", event_id=f"f{i}") for i in range(20)]
    state = None
    for ev in fails:
        state, _ = engine.step("user", state, ev)
    assert state is not None
    seen = state["_seen"]
    assert seen == "," + "".join(_short_id(f"f{i}") + "," for i in range(4, 20))
    assert seen.count(",") == SEEN_IDS + 1
    resent, found = engine.step("user", copy.deepcopy(state), fails[-1])
    assert found == [] and resent == state  # a re-sent event changes nothing
    older, _ = engine.step("user", copy.deepcopy(state), fails[3])  # no longer remembered
    assert older["failed_login_burst"] != state["failed_login_burst"]
    assert older["_seen"] == seen[17:] + _short_id("f3") + ","
    # A state kept before ``_seen`` was text held a list of the same short ids.
    old = {**copy.deepcopy(state), "_seen": [s for s in seen.split(",") if s]}
    new, found = engine.step("user", copy.deepcopy(old), fails[-2])
    assert found == [] and new["failed_login_burst"] == state["failed_login_burst"]
    new, _ = engine.step("user", copy.deepcopy(old), fails[3])
    assert new == older
