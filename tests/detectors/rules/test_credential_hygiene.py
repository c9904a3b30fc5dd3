import json
from typing import Any

from detectors.config import Config
from detectors.engine import Engine
from detectors.findings import Finding
from detectors.rules.credential_hygiene import CredentialHygiene, CredentialHygieneConfig
from detectors.testing import make_event

DAY = 86400.0


def use(day: float, user: str = "svc", **fields: Any) -> dict[str, Any]:
    return {"ts": day * DAY, "user": user, "action": "token_use", **fields}


def life(day: float, action: str, **attrs: Any) -> dict[str, Any]:
    return {"ts": day * DAY, "user": "admin", "action": action, "attributes": attrs}


def run(*events: dict[str, Any], **cfg: Any) -> list[Finding]:
    det = CredentialHygiene(CredentialHygieneConfig(**cfg))
    state: Any = None
    out: list[Finding] = []
    for fields in events:
        ev = make_event(**{"credential_id": "key-1", **fields})
        if det.accepts(ev):
            state, found = det.step(state, ev)
            state = json.loads(json.dumps(state))
            out += found
    return out


def rules(found: list[Finding]) -> list[str]:
    return [f.evidence["rule"] for f in found]


def test_regular_use_by_the_owner_is_quiet() -> None:
    assert run(life(0, "key_create", owner="svc"), *(use(d) for d in range(0, 170, 10))) == []


def test_idle_exactly_the_limit_is_fine_a_second_more_is_stale_once() -> None:
    assert run(use(0), use(90)) == []
    found = run(use(0), {**use(90), "ts": 90 * DAY + 1}, use(90.5), use(91))
    assert rules(found) == ["stale"]
    assert found[0].severity == "medium" and "90.0 days idle" in found[0].explanation


def test_idle_counts_from_creation_when_never_used() -> None:
    assert rules(run(life(0, "key_create"), use(91))) == ["stale"]


def test_use_by_another_principal_fires_once_per_principal() -> None:
    found = run(use(0), use(1, user="mallory"), use(2, user="mallory"), use(3, user="eve"))
    assert rules(found) == ["new_principal", "new_principal"]
    assert found[0].severity == "high" and "its owner is svc" in found[0].explanation
    assert [f.user for f in found] == ["mallory", "eve"]


def test_declared_owner_wins_over_first_user() -> None:
    assert rules(run(life(0, "key_create", owner="svc-billing"), use(1, user="alice"))) == [
        "new_principal"]


def test_key_older_than_rotation_limit_fires_once_per_version() -> None:
    found = run(life(0, "key_create"), use(60), use(120), use(180), use(180.5), use(181))
    assert rules(found) == ["unrotated"]
    assert found[0].incident.endswith(":unrotated")
    again = run(life(0, "key_create"), use(60), use(120), use(181),
                life(182, "key_rotate"), use(250), use(320), use(363))
    assert rules(again) == ["unrotated", "unrotated"]
    assert again[0].alert_id != again[1].alert_id


def test_age_is_unknown_without_a_lifecycle_event() -> None:
    assert run(*(use(d) for d in range(0, 400, 30))) == []


def test_use_after_revocation_is_critical_and_pages_once() -> None:
    found = run(use(0), life(1, "key_revoke"), use(2), use(3))
    assert rules(found) == ["revoked"]
    assert found[0].severity == "critical"
    assert "after it was revoked" in found[0].explanation


def test_rotation_clears_revocation_and_a_new_revocation_pages_again() -> None:
    found = run(use(0), life(1, "key_revoke"), use(2), life(3, "key_rotate"), use(4),
                life(5, "key_revoke"), use(6))
    assert rules(found) == ["revoked", "revoked"]
    assert found[0].alert_id != found[1].alert_id


def test_failed_and_denied_attempts_are_not_uses() -> None:
    assert run(use(0), life(1, "key_revoke"), {**use(2), "outcome": "denied"},
               {**use(3, user="mallory"), "outcome": "failure"}) == []


def test_severities_are_configurable() -> None:
    found = run(use(0), life(1, "key_revoke"), use(2), revoked_severity="high")
    assert found[0].severity == "high"


def test_alerts_carry_the_credential_id_and_nothing_secret() -> None:
    found = run(life(0, "key_create", owner="svc", secret="s3cr3t"), use(200, user="eve"))
    assert {f.key_kind for f in found} == {"credential"}
    assert {f.key for f in found} == {"key-1"}
    assert all("s3cr3t" not in json.dumps(f.evidence) + f.explanation for f in found)


def test_engine_keeps_state_per_credential() -> None:
    cfg = Config.model_validate({"detectors": {"credential_hygiene": {"enabled": True}}})
    engine = Engine(cfg, only=["credential_hygiene"])
    assert engine.key_kinds == ("credential",)
    events = [make_event(ts=0, user="svc", action="token_use", credential_id="a"),
              make_event(ts=1, user="svc", action="token_use", credential_id="b"),
              make_event(ts=2, user="eve", action="token_use", credential_id="b"),
              make_event(ts=3, user="eve", action="view")]
    assert [(f.key, f.evidence["rule"]) for f in engine.run(events)] == [("b", "new_principal")]
