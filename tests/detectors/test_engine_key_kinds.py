from detectors.config import Config, DetectorsConfig
from detectors.engine import Engine
from detectors.geo import Place, StaticGeoLookup
from detectors.rules.failure_then_success import FailureThenSuccessConfig
from detectors.testing import make_event


def test_a_detector_with_several_key_kinds_runs_under_each() -> None:
    engine = Engine(Config(), only=["failure_then_success"])
    assert set(engine.key_kinds) == {"user", "source_ip"}
    assert engine.detector_names == ("failure_then_success",)
    events = [make_event(ts=i, outcome="failure") for i in range(5)]
    events.append(make_event(ts=10, outcome="success"))
    found = list(engine.run(events))
    assert sorted(f.key_kind for f in found) == ["source_ip", "user"]
    assert len({f.alert_id for f in found}) == 2


def test_disabled_multi_kind_detector_runs_nowhere() -> None:
    cfg = Config(
        detectors=DetectorsConfig(failure_then_success=FailureThenSuccessConfig(enabled=False))
    )
    engine = Engine(cfg, only=["failure_then_success"])
    assert engine.key_kinds == () and engine.detector_names == ()


def test_context_carries_sensitive_environments_and_the_geo_lookup() -> None:
    geo = StaticGeoLookup({"8.8.8.8": Place(country="US")})
    engine = Engine(Config(sensitive_environments=("pci",)), geo=geo)
    assert engine.context.geo is geo and engine.context.sensitive_environments == ("pci",)
    found = list(engine.run([make_event(environment="pci"), make_event(environment="production")]))
    assert [(f.detector, f.evidence["environment"]) for f in found] == [("mfa_missing", "pci")]



def test_accepts_tells_whether_a_kind_would_look_at_an_event() -> None:
    engine = Engine(Config())
    view = make_event(action="view", resource="wiki/x", environment="production")
    failed = make_event(outcome="failure", environment="production")
    assert engine.accepts("source_ip", failed) and not engine.accepts("source_ip", view)
    assert engine.accepts("user", failed)
    state, found = engine.step("source_ip", None, view)
    assert state is None and found == []  # what accepts() promised
