from detectors.base import DetectorContext
from detectors.rules.mfa_missing import MfaMissing, MfaMissingConfig
from detectors.testing import make_event


def fires(det: MfaMissing, **fields: object) -> bool:
    ev = make_event(**({"environment": "production", "mfa": None} | fields))
    if not det.accepts(ev):
        return False
    state, found = det.step(None, ev)
    assert state is None  # stateless
    return len(found) == 1


def test_login_to_production_without_mfa_fires() -> None:
    det = MfaMissing(MfaMissingConfig())
    ev = make_event(environment="production", mfa=None)
    _, found = det.step(None, ev)
    f = found[0]
    assert (f.detector, f.severity, f.key, f.incident) == (
        "mfa_missing",
        "high",
        "alice",
        ev.event_id,
    )
    assert f.explanation == (
        "alice logged in to production from 203.0.113.7 without MFA; "
        "logins to production require it."
    )


def test_with_mfa_or_outside_sensitive_environments_nothing_fires() -> None:
    det = MfaMissing(MfaMissingConfig())
    assert not fires(det, mfa="totp")
    assert not fires(det, environment="staging")
    assert not fires(det, environment=None)
    assert not fires(det, outcome="failure")
    assert not fires(det, action="view")
    assert fires(det, mfa="")  # empty is as good as null
    assert fires(det, environment="Production")


def test_service_accounts_are_exempt_unless_configured() -> None:
    assert not fires(MfaMissing(MfaMissingConfig()), actor_type="service")
    included = MfaMissing(MfaMissingConfig(include_service_accounts=True))
    assert fires(included, actor_type="service")


def test_sensitive_environments_come_from_the_context() -> None:
    det = MfaMissing(
        MfaMissingConfig(), context=DetectorContext(sensitive_environments=("prod-eu", "pci"))
    )
    assert fires(det, environment="pci")
    assert not fires(det, environment="production")


def test_step_never_fires_on_an_event_accepts_would_reject() -> None:
    det = MfaMissing(MfaMissingConfig())
    assert det.step(None, make_event(environment="production", mfa="push")) == (None, [])
