"""Seeded synthetic traffic: benign users with attacks planted in it, labelled.

Used by the demo, the tests and the benchmarks. The same spec gives the same events.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from detectors.events import AccessEvent
from detectors.findings import utc

__all__ = ["ATTACKS", "DEFAULT_ATTACKS", "Labelled", "ScenarioSpec", "generate"]

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
)
#: What a spec plants unless told otherwise.
DEFAULT_ATTACKS = ("brute_force",)

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
        for ts in _arrivals(rng, spec.start_ts, span, spec.events_per_user_hour):
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
    out.sort(key=lambda row: (row[0], row[1]))
    return [(ev, label) for _, _, ev, label in out]


def _arrivals(rng: random.Random, start: float, span: float, per_hour: float) -> Iterator[float]:
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
