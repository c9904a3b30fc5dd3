"""Seeded synthetic traffic: benign users with attacks planted in it, labelled.

Used by the demo, the tests and the benchmarks. The same spec gives the same events.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

from detectors.events import AccessEvent
from detectors.findings import utc

__all__ = ["ATTACKS", "Labelled", "ScenarioSpec", "generate"]

#: Attack kinds the generator can plant; each names the detector expected to catch it.
ATTACKS = ("brute_force",)

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
    attacks: tuple[str, ...] = ATTACKS
    attack_user: str = "user007"
    attacker_ip: str = "198.51.100.66"


def generate(spec: ScenarioSpec) -> list[Labelled]:
    """All events of the scenario, sorted by event time (ties keep generation order)."""
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
