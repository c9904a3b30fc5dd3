import json
from typing import Any

import pytest

from detectors.config import parse_config
from detectors.errors import ConfigError
from detectors.findings import Finding
from detectors.rules.elevation_abuse import ElevationAbuse, ElevationAbuseConfig
from detectors.testing import make_event

GOOD = {"scope": "db/prod/*", "expires_at": "2026-03-02T10:00:00Z", "approved_by": "bob",
        "ticket": "CHG-42"}  # granted at 09:00 UTC (BASE_TS), for one hour


def elevate(ts: float = 0, **attrs: Any) -> dict[str, Any]:
    return {"ts": ts, "action": "elevate", "environment": "production",
            "attributes": {k: v for k, v in {**GOOD, **attrs}.items() if v is not None}}


def use(ts: float, resource: str = "db/prod/orders", **fields: Any) -> dict[str, Any]:
    return {"ts": ts, "action": "modify", "resource": resource, "environment": "production",
            **fields}


def run(*events: dict[str, Any], **cfg: Any) -> list[Finding]:
    det = ElevationAbuse(ElevationAbuseConfig(**cfg))
    state: Any = None
    out: list[Finding] = []
    for fields in events:
        ev = make_event(**fields)
        if det.accepts(ev):
            state, found = det.step(state, ev)
            state = json.loads(json.dumps(state))
            out += found
    return out


def rules(found: list[Finding]) -> list[str]:
    return [f.evidence["rule"] for f in found]


def test_a_proper_elevation_used_in_its_window_is_quiet() -> None:
    assert run(elevate(), use(60), use(3599), use(4000, resource="s3/other")) == []


def test_duration_at_the_maximum_is_allowed_one_second_more_is_too_long() -> None:
    assert run(elevate(expires_at="2026-03-02T13:00:00Z")) == []
    found = run(elevate(expires_at="2026-03-02T13:00:01Z"))
    assert rules(found) == ["too_long"]
    assert "for 4 h 1 s" in found[0].explanation and "maximum of 4 h" in found[0].explanation


def test_a_missing_or_unreadable_expiry_is_open_ended_and_too_long() -> None:
    assert rules(run(elevate(expires_at=None))) == ["too_long"]
    assert rules(run(elevate(expires_at="tomorrow"))) == ["too_long"]
    assert rules(run(elevate(expires_at="2026-03-02T10:00:00"))) == ["too_long"]  # naive


def test_self_approval() -> None:
    found = run(elevate(approved_by="alice"))
    assert rules(found) == ["self_approved"]
    assert "approved it themselves" in found[0].explanation


def test_missing_or_malformed_ticket() -> None:
    assert rules(run(elevate(ticket=None))) == ["missing_ticket"]
    assert rules(run(elevate(ticket="  "))) == ["missing_ticket"]
    assert run(elevate(ticket=None), require_ticket=False) == []
    pattern = r"(CHG|INC)-[0-9]+"
    assert run(elevate(ticket="INC-7"), ticket_pattern=pattern) == []
    found = run(elevate(ticket="CHG-7x"), ticket_pattern=pattern)
    assert rules(found) == ["missing_ticket"]
    assert "does not match the required pattern" in found[0].explanation


def test_one_request_can_break_several_rules_each_its_own_incident() -> None:
    found = run(elevate(approved_by="alice", ticket=None, expires_at=None))
    assert sorted(rules(found)) == ["missing_ticket", "self_approved", "too_long"]
    assert len({f.alert_id for f in found}) == 3
    assert all(f.severity == "high" and f.key == "alice" for f in found)


def test_denied_elevations_are_ignored() -> None:
    assert run({**elevate(approved_by="alice"), "outcome": "denied"}) == []


def test_use_after_expiry_fires_once_per_grant() -> None:
    found = run(elevate(), use(3599), use(3600), use(3700), use(5000))
    assert rules(found) == ["expired_use"]
    f = found[0]
    assert f.evidence["expired_at"] == "2026-03-02T10:00:00+00:00"
    assert len(f.event_ids) == 2 and "expired at 2026-03-02 10:00 UTC" in f.explanation


def test_use_outside_the_scope_or_by_exempt_actions_is_not_expired_use() -> None:
    assert run(elevate(), use(4000, resource="db/staging/x"), use(4000, action="login")) == []


def test_environment_scope_covers_every_resource_in_it() -> None:
    found = run(elevate(scope="production"), use(4000, resource="k8s/prod/deploy"))
    assert rules(found) == ["expired_use"]


def test_a_newer_active_grant_covers_the_scope() -> None:
    assert run(elevate(), elevate(3500, expires_at="2026-03-02T11:00:00Z"), use(4000)) == []


def test_expired_scopes_are_forgotten_after_the_horizon() -> None:
    assert run(elevate(), use(3600 + 86400), expired_use_horizon_seconds=86400) == []
    assert len(run(elevate(), use(3600 + 86399), expired_use_horizon_seconds=86400)) == 1


def test_remembered_grants_are_bounded() -> None:
    det = ElevationAbuse(ElevationAbuseConfig(max_grants=3))
    state: Any = None
    for i in range(10):
        state, _ = det.step(state, make_event(**elevate(i)))
    assert len(state) == 3


def test_bad_ticket_pattern_is_a_config_error_naming_the_field() -> None:
    with pytest.raises(ConfigError) as info:
        parse_config("detectors:\n  elevation_abuse:\n    ticket_pattern: 'CHG-[0-9'\n")
    [problem] = info.value.problems
    assert "detectors.elevation_abuse.ticket_pattern: " in problem
    assert "not a valid regular expression" in problem
