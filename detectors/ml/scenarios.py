"""Seeded days of team-structured traffic with labelled behavioural anomalies.

Extends :mod:`detectors.scenario` (same :data:`~detectors.scenario.Labelled` rows) for the ML
detector. Benign users belong to teams, work their own hours and weekdays, use their team's
resources from one or two networks, and now and then do something slightly unusual (an
evening on-call session, a resource of their team they never touched, a trip). Service
accounts call a few resources around the clock with a token.

Planted anomalies, which no single rule names (each label is also the anomaly's kind):

- ``off_hours_bulk_reads``: a burst of reads of the user's own data in the middle of their night;
- ``resource_sweep``: one user reading dozens of resources across teams within minutes;
- ``dormant_wakeup``: an account silent for days comes back, partly from a new network;
- ``service_as_human``: a service account logs in interactively and browses new resources;
- ``cross_team_prod``: a user's first reads of another team's production data.

>>> rows = generate_ml(MlScenarioSpec(users=12, days=7, seed=1))
>>> kinds = {label for _, label in rows if label}
>>> sorted(kinds) == sorted(BEHAVIOURAL_ANOMALIES)
True
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass

from detectors.events import AccessEvent
from detectors.findings import utc
from detectors.scenario import Labelled, arrivals

__all__ = ["BEHAVIOURAL_ANOMALIES", "MlScenarioSpec", "generate_ml"]

BEHAVIOURAL_ANOMALIES = (
    "off_hours_bulk_reads",
    "resource_sweep",
    "dormant_wakeup",
    "service_as_human",
    "cross_team_prod",
)
_DAY = 86400.0
_BROWSER = "Mozilla/5.0 (X11; Linux x86_64) Firefox/128.0"
_COUNTRIES = ("DE", "FR", "NL", "GB", "US", "PL")


@dataclass(frozen=True)
class MlScenarioSpec:
    users: int = 100
    days: int = 14
    seed: int = 42
    start_ts: float = 1772409600.0  # 2026-03-02 00:00 UTC (a Monday)
    service_share: float = 0.1
    #: Instances planted per anomaly kind; 0 means one per 25 users (at least one).
    instances: int = 0
    #: Anomalies are planted in the last ``attack_share`` of the days.
    attack_share: float = 0.3


@dataclass
class _Profile:
    user: str
    team: int
    resources: list[str]
    spare: list[str]
    start_hour: int
    hours: int
    weekend: float
    per_hour: float
    ip: str
    vpn_ip: str | None
    country: str
    service: bool


Emit = Callable[..., None]


def _team_resources(team: int) -> list[str]:
    name = f"team{team:02d}"
    return ([f"db/prod/{name}-{i}" for i in range(4)] + [f"db/staging/{name}-{i}" for i in range(3)]
            + [f"s3/prod/{name}-exports", f"k8s/prod/{name}", f"git/{name}",
               f"grafana/{name}", f"wiki/{name}"])


def _env(resource: str) -> str | None:
    if "/prod/" in resource:
        return "production"
    if "/staging/" in resource:
        return "staging"
    return None


def generate_ml(spec: MlScenarioSpec) -> list[Labelled]:
    """All events of the scenario, sorted by event time (ties keep generation order)."""
    if spec.days < 7:
        raise ValueError("the ML scenario needs at least 7 days (warm-up, dormancy)")
    rng = random.Random(spec.seed)
    out: list[tuple[float, int, AccessEvent, str | None]] = []
    seq = 0

    def emit(ts: float, label: str | None, **fields: object) -> None:
        nonlocal seq
        seq += 1
        data = {"event_id": f"ml-{spec.seed}-{seq:08d}", "timestamp": utc(ts), **fields}
        out.append((ts, seq, AccessEvent.model_validate(data), label))

    teams = max(3, spec.users // 12)
    profiles = [_profile(rng, u, teams, spec) for u in range(spec.users)]
    humans = [p for p in profiles if not p.service]
    services = [p for p in profiles if p.service]
    n = spec.instances or max(1, spec.users // 25)
    picked = rng.sample(humans, min(len(humans), 4 * n))
    sleepers = picked[3 * n:]
    first_attack_day = int(spec.days * (1 - spec.attack_share))
    dormant_until = {p.user: (int(spec.days * 0.35), spec.days - 2) for p in sleepers}
    for p in profiles:
        quiet = dormant_until.get(p.user)
        for day in range(spec.days):
            if quiet is not None and quiet[0] <= day <= quiet[1]:
                continue
            if p.service:
                _service_day(emit, rng, spec.start_ts + day * _DAY, p)
            else:
                _human_day(emit, rng, spec.start_ts + day * _DAY, day, p)

    def attack_day() -> float:
        day = rng.randrange(first_attack_day, spec.days)
        while day % 7 >= 5:  # plant on weekdays, when the user would be around
            day = rng.randrange(first_attack_day, spec.days)
        return spec.start_ts + day * _DAY

    for p in picked[:n]:
        _off_hours_bulk_reads(emit, rng, attack_day(), p)
    for p in picked[n:2 * n]:
        _resource_sweep(emit, rng, attack_day(), p, teams)
    for p in picked[2 * n:3 * n]:
        _cross_team_prod(emit, rng, attack_day(), p, teams)
    for p in sleepers:
        wake = spec.start_ts + (dormant_until[p.user][1] + 1) * _DAY
        _dormant_wakeup(emit, rng, wake, p)
    for p in rng.sample(services, min(len(services), n)):
        _service_as_human(emit, rng, attack_day(), p, teams)
    out.sort(key=lambda row: (row[0], row[1]))
    return [(ev, label) for _, _, ev, label in out]


def _profile(rng: random.Random, u: int, teams: int, spec: MlScenarioSpec) -> _Profile:
    team = rng.randrange(teams)
    pool = _team_resources(team)
    rng.shuffle(pool)
    service = rng.random() < spec.service_share
    if service:
        return _Profile(f"svc-{u:04d}", team, pool[:2], [], 0, 24, 1.0, rng.uniform(4, 10),
                        f"172.16.{u // 250}.{u % 250}", None, "DE", True)
    k = rng.randint(5, 8)
    vpn = f"100.64.{u // 250}.{u % 250}" if rng.random() < 0.3 else None
    return _Profile(f"user{u:04d}", team, pool[:k], pool[k:], rng.randint(6, 11),
                    rng.randint(8, 10), 0.3 if rng.random() < 0.1 else 0.0,
                    rng.uniform(5, 12), f"10.{u // 250}.{u % 250}.{rng.randint(2, 250)}", vpn,
                    rng.choice(_COUNTRIES), False)


def _human_day(emit: Emit, rng: random.Random, day_ts: float, day: int, p: _Profile) -> None:
    if day % 7 >= 5 and rng.random() >= p.weekend:
        return
    ip = p.vpn_ip if p.vpn_ip is not None and rng.random() < 0.2 else p.ip
    country = p.country
    if rng.random() < 0.01:  # a trip: another network, maybe another country
        ip = f"192.0.2.{rng.randint(1, 254)}"
        country = rng.choice(_COUNTRIES)
    if p.spare and rng.random() < 0.03:  # starts using one more of the team's resources
        p.resources.append(p.spare.pop())
    start = day_ts + p.start_hour * 3600 + rng.uniform(-1800, 1800)
    _session(emit, rng, start, p.hours * 3600 * rng.uniform(0.8, 1.0), p, ip, country,
             p.per_hour)
    if rng.random() < 0.04:  # an evening on-call check
        _session(emit, rng, day_ts + ((p.start_hour + p.hours + 3) % 24) * 3600,
                 rng.uniform(600, 1800), p, ip, country, p.per_hour)


def _session(emit: Emit, rng: random.Random, start: float, span: float, p: _Profile, ip: str,
             country: str, per_hour: float, label: str | None = None) -> None:
    def send(ts: float, **fields: object) -> None:
        emit(ts, label, user=p.user, source_ip=ip, geo={"country": country},
             roles=[f"team{p.team:02d}"], **fields)

    send(start, action="login", outcome="success", mfa="totp", user_agent=_BROWSER)
    for ts in arrivals(rng, start, span, per_hour):
        res = rng.choice(p.resources)
        roll = rng.random()
        action = ("view" if roll < 0.75 else "modify" if roll < 0.92
                  else "create" if roll < 0.99 else "delete")
        outcome = "denied" if rng.random() < 0.01 else "success"
        send(ts, action=action, outcome=outcome, resource=res, environment=_env(res),
             user_agent=_BROWSER)


def _service_day(emit: Emit, rng: random.Random, day_ts: float, p: _Profile) -> None:
    for ts in arrivals(rng, day_ts, _DAY, p.per_hour):
        res = rng.choice(p.resources)
        emit(ts, None, user=p.user, actor_type="service", action="token_use", outcome="success",
             source_ip=p.ip, resource=res, environment=_env(res), credential_id=f"key-{p.user}",
             user_agent="svc-client/2.3", geo={"country": p.country})


def _off_hours_bulk_reads(emit: Emit, rng: random.Random, day_ts: float, p: _Profile) -> None:
    night = (p.start_hour + p.hours + 6) % 24
    start = day_ts + night * 3600 + rng.uniform(0, 1800)
    label = "off_hours_bulk_reads"
    emit(start, label, user=p.user, action="login", outcome="success", mfa="totp",
         source_ip=p.ip, user_agent=_BROWSER, geo={"country": p.country})
    for i in range(rng.randint(30, 60)):
        res = p.resources[i % len(p.resources)]
        emit(start + 5 + i * rng.uniform(5, 20), label, user=p.user, action="view",
             outcome="success", source_ip=p.ip, resource=res, environment=_env(res),
             user_agent=_BROWSER, geo={"country": p.country})


def _resource_sweep(emit: Emit, rng: random.Random, day_ts: float, p: _Profile,
                    teams: int) -> None:
    start = day_ts + (p.start_hour + 2) * 3600 + rng.uniform(0, 3600)
    targets = [r for t in range(teams) for r in _team_resources(t)]
    rng.shuffle(targets)
    for i, res in enumerate(targets[: rng.randint(30, 50)]):
        emit(start + i * rng.uniform(3, 12), "resource_sweep", user=p.user, action="view",
             outcome="success" if rng.random() < 0.8 else "denied", source_ip=p.ip,
             resource=res, environment=_env(res), user_agent=_BROWSER,
             geo={"country": p.country})


def _cross_team_prod(emit: Emit, rng: random.Random, day_ts: float, p: _Profile,
                     teams: int) -> None:
    other = (p.team + rng.randrange(1, teams)) % teams
    prod = [r for r in _team_resources(other) if "/prod/" in r]
    start = day_ts + (p.start_hour + 3) * 3600 + rng.uniform(0, 3600)
    for i in range(rng.randint(3, 6)):
        res = prod[i % len(prod)]
        emit(start + i * rng.uniform(20, 90), "cross_team_prod", user=p.user,
             action="view", outcome="success", source_ip=p.ip, resource=res,
             environment="production", user_agent=_BROWSER, geo={"country": p.country})


def _dormant_wakeup(emit: Emit, rng: random.Random, day_ts: float, p: _Profile) -> None:
    ip = f"203.0.113.{rng.randint(1, 254)}" if rng.random() < 0.5 else p.ip
    start = day_ts + p.start_hour * 3600 + rng.uniform(0, 3600)
    _session(emit, rng, start, rng.uniform(1200, 3600), p, ip, p.country, p.per_hour * 2,
             label="dormant_wakeup")


def _service_as_human(emit: Emit, rng: random.Random, day_ts: float, p: _Profile,
                      teams: int) -> None:
    start = day_ts + rng.uniform(9, 17) * 3600
    label = "service_as_human"
    emit(start, label, user=p.user, actor_type="service", action="login", outcome="success",
         mfa="push", source_ip=p.ip, user_agent=_BROWSER, geo={"country": p.country})
    other = _team_resources(rng.randrange(teams))
    for i in range(rng.randint(8, 15)):
        res = other[i % len(other)]
        emit(start + 30 + i * rng.uniform(20, 60), label, user=p.user, actor_type="service",
             action="view", outcome="success", source_ip=p.ip, resource=res,
             environment=_env(res), user_agent=_BROWSER, geo={"country": p.country})
