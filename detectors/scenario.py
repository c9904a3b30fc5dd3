"""Seeded synthetic traffic: benign users with attacks planted in it, labelled.

Used by the demo, the tests and the benchmarks. The same spec gives the same events.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from detectors.config import Config, load_config
from detectors.events import AccessEvent
from detectors.findings import utc

__all__ = [
    "ATTACKS",
    "DEFAULT_ATTACKS",
    "EXAMPLE_POLICY",
    "POLICY_ATTACKS",
    "Labelled",
    "ScenarioSpec",
    "generate",
    "policy_config",
]

#: Attacks on the example policy (config/example-policy.yaml); each is named after, and
#: labelled with, the detector expected to catch it.
POLICY_ATTACKS = ("policy_violation", "unscheduled_access", "elevation_abuse",
                  "credential_hygiene")
#: Attack kinds the generator can plant; each names the detector expected to catch it.
ATTACKS = (
    "brute_force",
    "password_spray",
    "failure_then_success",
    "mfa_fatigue",
    "denied_action_burst",
    "mfa_missing",
    "new_source",
    "impossible_travel",
    *POLICY_ATTACKS,
)
#: What a default spec plants.
DEFAULT_ATTACKS = ("brute_force",)
#: The worked example policy the scenario's users, roles and keys are written for.
EXAMPLE_POLICY = Path(__file__).resolve().parent.parent / "config" / "example-policy.yaml"
DAY = 86400.0

Labelled = tuple[AccessEvent, str | None]

_RESOURCES = ("db/prod/customers", "db/prod/orders", "s3/reports", "k8s/prod/deploy",
              "wiki/runbooks", "git/accessguard", "db/staging/orders", "grafana/dashboards")
_ACTIONS = ("view", "view", "view", "view", "modify", "create")


@dataclass(frozen=True)
class ScenarioSpec:
    users: int = 50
    hours: float = 2.0
    seed: int = 42
    start_ts: float = 1772442000.0  # 2026-03-02 09:00 UTC (a Monday)
    events_per_user_hour: float = 12.0
    attacks: tuple[str, ...] = DEFAULT_ATTACKS
    attack_user: str = "user007"
    attacker_ip: str = "198.51.100.66"
    #: Add the benign traffic the example policy knows about: service accounts using their
    #: own API keys, and an approved, ticketed elevation used within its window.
    policy_traffic: bool = False
    service_accounts: int = 3


def policy_config() -> Config:
    """The example policy (``config/example-policy.yaml``) the scenario is written for."""
    return load_config(EXAMPLE_POLICY)


def generate(spec: ScenarioSpec) -> list[Labelled]:
    """All events of the scenario, sorted by event time (ties keep generation order)."""
    unknown = sorted(set(spec.attacks) - set(ATTACKS))
    if unknown:
        raise ValueError(f"unknown attacks {unknown}; known: {', '.join(ATTACKS)}")
    rng = random.Random(spec.seed)
    out: list[tuple[float, int, AccessEvent, str | None]] = []
    seq = 0

    def emit(ts: float, label: str | None, **fields: object) -> None:
        nonlocal seq
        seq += 1
        data = {"event_id": f"evt-{spec.seed}-{seq:08d}", "timestamp": utc(ts), **fields}
        out.append((ts, seq, AccessEvent.model_validate(data), label))

    span = spec.hours * 3600
    for u in range(spec.users):
        user = f"user{u:03d}"
        ip = f"10.{u // 250}.{u % 250}.{rng.randint(2, 250)}"
        for ts in arrivals(rng, spec.start_ts, span, spec.events_per_user_hour):
            _benign(emit, rng, ts, user, ip)
    if "brute_force" in spec.attacks:
        t0 = spec.start_ts + span * 0.6
        for i in range(12):
            emit(t0 + i * 7.5, "brute_force", user=spec.attack_user, action="login",
                 outcome="failure", source_ip=spec.attacker_ip, environment="production",
                 user_agent="python-requests/2.31")
    for name, plant in _PLANTS.items():
        if name in spec.attacks:
            plant(emit, spec, span)
    if spec.policy_traffic:
        _policy_benign(emit, random.Random(spec.seed * 7919 + 1), spec)
    for attack in POLICY_ATTACKS:
        if attack in spec.attacks:
            _POLICY_PLANTS[attack](emit, spec)
    out.sort(key=lambda row: (row[0], row[1]))
    return [(ev, label) for _, _, ev, label in out]


def arrivals(rng: random.Random, start: float, span: float, per_hour: float) -> Iterator[float]:
    """Poisson arrival times at ``per_hour`` in ``[start, start + span)``."""
    ts = start + rng.expovariate(per_hour / 3600)
    while ts < start + span:
        yield ts
        ts += rng.expovariate(per_hour / 3600)


def _benign(emit: object, rng: random.Random, ts: float, user: str, ip: str) -> None:
    def send(at: float, **fields: object) -> None:
        emit(at, None, user=user, source_ip=ip, environment="production",  # type: ignore[operator]
             roles=["engineer"], **fields)

    roll = rng.random()
    if roll < 0.15:
        if rng.random() < 0.2:  # a typo, then the right password
            send(ts, action="login", outcome="failure")
            ts += rng.uniform(3, 20)
        send(ts, action="login", outcome="success", mfa="totp")
    elif roll < 0.17:
        send(ts, action="view", outcome="denied", resource=rng.choice(_RESOURCES))
    else:
        send(ts, action=rng.choice(_ACTIONS), outcome="success", resource=rng.choice(_RESOURCES))


# Planted attacks beyond brute_force. Each plant uses its own users (numbered after the benign
# population, so benign traffic never interleaves) and its own addresses, and is shaped so
# that only the detector it is named after fires at default thresholds.

Emit = Callable[..., None]
_PROD = {"environment": "production", "roles": ["engineer"]}


def _extra_user(spec: ScenarioSpec, k: int) -> str:
    return f"user{spec.users + k:03d}"


def _plant_password_spray(emit: Emit, spec: ScenarioSpec, span: float) -> None:
    t0 = spec.start_ts + span * 0.3
    for i in range(14):  # one guess per account, 14 accounts, from one address
        emit(t0 + i * 20, "password_spray", user=_extra_user(spec, 100 + i), action="login",
             outcome="failure", source_ip="198.51.100.77", user_agent="python-requests/2.31",
             **_PROD)


def _plant_failure_then_success(emit: Emit, spec: ScenarioSpec, span: float) -> None:
    t0 = spec.start_ts + span * 0.45
    user, ip = _extra_user(spec, 1), "198.51.100.88"
    for i in range(5):  # slow enough that no 5 fall within failed_login_burst's 5 minutes
        emit(t0 + i * 140, "failure_then_success", user=user, action="login", outcome="failure",
             source_ip=ip, **_PROD)
    emit(t0 + 590, "failure_then_success", user=user, action="login", outcome="success",
         source_ip=ip, mfa="totp", **_PROD)


def _plant_mfa_fatigue(emit: Emit, spec: ScenarioSpec, span: float) -> None:
    t0 = spec.start_ts + span * 0.35
    user, ip = _extra_user(spec, 2), "198.51.100.99"
    for i in range(7):  # push prompts the user keeps rejecting ...
        emit(t0 + i * 45, "mfa_fatigue", user=user, action="mfa", outcome="failure",
             source_ip=ip, mfa="push", **_PROD)
    emit(t0 + 6 * 45 + 40, "mfa_fatigue", user=user, action="mfa", outcome="success",
         source_ip=ip, mfa="push", **_PROD)  # ... until they approve one


def _plant_denied_action_burst(emit: Emit, spec: ScenarioSpec, span: float) -> None:
    t0 = spec.start_ts + span * 0.4
    user = _extra_user(spec, 3)
    for i in range(7):
        emit(t0 + i * 30, "denied_action_burst", user=user, action=("delete", "modify")[i % 2],
             outcome="denied", resource=_RESOURCES[i % 4], source_ip="10.9.9.9", **_PROD)


def _plant_mfa_missing(emit: Emit, spec: ScenarioSpec, span: float) -> None:
    emit(spec.start_ts + span * 0.5, "mfa_missing", user=_extra_user(spec, 4), action="login",
         outcome="success", source_ip="10.9.9.10", **_PROD)


def _plant_new_source(emit: Emit, spec: ScenarioSpec, span: float) -> None:
    user = _extra_user(spec, 5)
    home: dict[str, Any] = {"country": "DE", "asn": 3320}
    for i in range(12):  # an ordinary history: same country, same network (benign)
        emit(spec.start_ts + span * (0.05 + 0.04 * i), None, user=user, action="login",
             outcome="success", source_ip="203.0.113.20", mfa="totp", geo=home, **_PROD)
    emit(spec.start_ts + span * 0.9, "new_source", user=user, action="login", outcome="success",
         source_ip="203.0.113.21", mfa="totp", geo={"country": "PL", "asn": 5617}, **_PROD)


def _plant_impossible_travel(emit: Emit, spec: ScenarioSpec, span: float) -> None:
    user, t0 = _extra_user(spec, 6), spec.start_ts + span * 0.5
    berlin = {"country": "DE", "city": "Berlin", "lat": 52.52, "lon": 13.405, "asn": 3320}
    nyc = {"country": "US", "city": "New York", "lat": 40.7128, "lon": -74.006, "asn": 7922}
    emit(t0, "impossible_travel", user=user, action="login", outcome="success",
         source_ip="203.0.113.30", mfa="totp", geo=berlin, **_PROD)
    emit(t0 + min(1800.0, span * 0.4), "impossible_travel", user=user, action="login",
         outcome="success", source_ip="203.0.113.31", mfa="totp", geo=nyc, **_PROD)


_PLANTS: dict[str, Callable[[Emit, ScenarioSpec, float], None]] = {
    "password_spray": _plant_password_spray,
    "failure_then_success": _plant_failure_then_success,
    "mfa_fatigue": _plant_mfa_fatigue,
    "denied_action_burst": _plant_denied_action_burst,
    "mfa_missing": _plant_mfa_missing,
    "new_source": _plant_new_source,
    "impossible_travel": _plant_impossible_travel,
}


_ADMIN = {"user": "admin01", "roles": ["iam-admin"], "source_ip": "10.9.0.5"}


def _key_event(emit: Emit, ts: float, action: str, key: str, **attributes: object) -> None:
    emit(ts, None, action=action, outcome="success", credential_id=key,
         resource=f"iam/keys/{key}", attributes=attributes, **_ADMIN)


def _policy_benign(emit: Emit, rng: random.Random, spec: ScenarioSpec) -> None:
    span = spec.hours * 3600
    for n in range(spec.service_accounts):
        svc, key, ip = f"svc-{n:02d}", f"key-svc-{n:02d}", f"10.8.0.{n + 10}"
        _key_event(emit, spec.start_ts - rng.uniform(5, 60) * DAY, "key_create", key, owner=svc)
        for ts in arrivals(rng, spec.start_ts, span, 30.0):
            action = "token_use" if rng.random() < 0.7 else "view"
            emit(ts, None, user=svc, action=action, outcome="success", credential_id=key,
                 resource="s3/reports", environment="production", roles=["service"],
                 actor_type="service", source_ip=ip)
    # An approved, ticketed, one-hour elevation, used inside its window.
    t0 = spec.start_ts + span * 0.3
    who = {"user": "user003", "roles": ["engineer"], "source_ip": "10.0.3.9",
           "environment": "production"}
    emit(t0, None, action="elevate", outcome="success", **who, attributes={
        "scope": "k8s/prod/secrets/*", "expires_at": utc(t0 + 3600).isoformat(),
        "approved_by": "user004", "ticket": "CHG-1001"})
    emit(t0 + 600, None, action="modify", outcome="success", resource="k8s/prod/secrets/api",
         **who)


def _plant_policy_violation(emit: Emit, spec: ScenarioSpec) -> None:
    # An engineer deletes a production table: the system allowed it, the policy does not.
    emit(spec.start_ts + spec.hours * 3600 * 0.35, "policy_violation", user=spec.attack_user,
         action="delete", outcome="success", resource="db/prod/customers",
         environment="production", roles=["engineer"], source_ip="10.0.7.20")


def _plant_unscheduled_access(emit: Emit, spec: ScenarioSpec) -> None:
    # The Tokyo contractor works on production at night, Tokyo time (default start: Monday
    # 09:00 UTC is 18:00 in Tokyo): a view opens the incident, a modify escalates it.
    t0 = spec.start_ts + spec.hours * 3600 * 0.5
    who = {"user": "contractor01", "roles": ["contractor"], "source_ip": "203.0.113.40",
           "environment": "production", "resource": "db/prod/orders", "outcome": "success"}
    emit(t0, "unscheduled_access", action="view", **who)
    emit(t0 + 120, "unscheduled_access", action="modify", **who)


def _plant_elevation_abuse(emit: Emit, spec: ScenarioSpec) -> None:
    span = spec.hours * 3600
    t0 = spec.start_ts + span * 0.2
    # Twelve hours, self-approved, no ticket: three sub-rules on one request.
    emit(t0, "elevation_abuse", user="oncall01", action="elevate", outcome="success",
         environment="production", roles=["engineer"], source_ip="10.0.9.1", attributes={
             "scope": "db/prod/*", "expires_at": utc(t0 + 12 * 3600).isoformat(),
             "approved_by": "oncall01"})
    # A proper short elevation, used again after it expired.
    t1 = spec.start_ts + span * 0.25
    who = {"user": "ops01", "roles": ["engineer"], "source_ip": "10.0.9.2",
           "environment": "production", "outcome": "success"}
    emit(t1, None, action="elevate", **who, attributes={
        "scope": "k8s/prod/secrets/*", "expires_at": utc(t1 + span * 0.1).isoformat(),
        "approved_by": "user012", "ticket": "CHG-4711"})
    emit(t1 + span * 0.25, "elevation_abuse", action="modify", resource="k8s/prod/secrets/db",
         **who)


def _plant_credential_hygiene(emit: Emit, spec: ScenarioSpec) -> None:
    span, start = spec.hours * 3600, spec.start_ts
    svc = {"outcome": "success", "environment": "production", "resource": "s3/reports",
           "roles": ["service"], "actor_type": "service"}
    # A legacy key, idle for 199 days and never rotated, comes back to life.
    _key_event(emit, start - 200 * DAY, "key_create", "ak-legacy-01", owner="svc-legacy")
    emit(start - 199 * DAY, None, user="svc-legacy", action="token_use", source_ip="10.8.1.1",
         credential_id="ak-legacy-01", **svc)
    emit(start + span * 0.3, "credential_hygiene", user="svc-legacy", action="token_use",
         source_ip="10.8.1.1", credential_id="ak-legacy-01", **svc)
    # The billing service's key, used by a person.
    _key_event(emit, start - 10 * DAY, "key_create", "ak-billing-01", owner="svc-billing")
    emit(start + span * 0.4, "credential_hygiene", user=spec.attack_user, action="token_use",
         source_ip=spec.attacker_ip, credential_id="ak-billing-01",
         **{**svc, "roles": ["engineer"], "actor_type": "human"})
    # A revoked key that still works.
    _key_event(emit, start - 30 * DAY, "key_create", "ak-etl-02", owner="svc-etl")
    _key_event(emit, start + span * 0.1, "key_revoke", "ak-etl-02")
    emit(start + span * 0.45, "credential_hygiene", user="svc-etl", action="token_use",
         source_ip="10.8.1.2", credential_id="ak-etl-02", **svc)


_POLICY_PLANTS: dict[str, Callable[[Emit, ScenarioSpec], None]] = {
    "policy_violation": _plant_policy_violation,
    "unscheduled_access": _plant_unscheduled_access,
    "elevation_abuse": _plant_elevation_abuse,
    "credential_hygiene": _plant_credential_hygiene,
}
