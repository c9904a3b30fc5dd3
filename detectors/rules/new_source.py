"""``new_source``: a user's first successful login from a new country or network (ASN).

Places come from ``event.geo`` (country, asn), gaps filled by the injected offline
:class:`~detectors.geo.GeoLookup`. A merely new IP is not an alert; nor is a login whose
address cannot be placed (private, loopback, reserved or unknown): it is neither new nor
learned. Networks are named ``AS<number>`` when the event carries the number, else by the
AS organisation name from the offline data.

Warm-up: nothing fires until the user has ``warmup_logins`` located logins, or located
history spanning ``warmup_seconds``, whichever comes first. A login that fires is learned, so
the same country or network does not fire again: one incident per first sighting, whose id is
that login's event id. Known countries and networks are capped (``max_countries``,
``max_networks``); the least recently seen, by event time, make room. Order-tolerant: an
out-of-order or late login is judged and learned like any other.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from detectors.base import Detector, DetectorConfig
from detectors.events import AccessEvent
from detectors.findings import Finding, Severity
from detectors.geo import place_of
from detectors.text import duration, plural

__all__ = ["NewSource", "NewSourceConfig"]


class NewSourceConfig(DetectorConfig):
    warmup_logins: int = Field(
        default=10, ge=1, le=10000, description="located logins before alerting"
    )
    warmup_seconds: float = Field(
        default=14 * 86400.0,
        gt=0,
        le=365 * 86400,
        description="or this much located history, whichever first",
    )
    max_countries: int = Field(default=16, ge=1, le=64, description="known countries kept per user")
    max_networks: int = Field(default=16, ge=1, le=64, description="known networks kept per user")
    severity: Severity = "medium"


class NewSource(Detector[NewSourceConfig]):
    """First successful login from a country or network never seen for the user.

    >>> from detectors.testing import make_event
    >>> det = NewSource(NewSourceConfig(warmup_logins=2))
    >>> home, away = {"country": "DE", "asn": 3320}, {"country": "PL", "asn": 5617}
    >>> state = None
    >>> for ts, geo in [(0, home), (60, home), (120, away)]:
    ...     state, found = det.step(state, make_event(ts=ts, geo=geo))
    >>> found[0].evidence["new_country"], found[0].evidence["known_countries"]
    ('PL', ['DE'])
    """

    name = "new_source"
    key_kind = "user"
    config_model = NewSourceConfig
    accepts_actions = frozenset({"login"})
    accepts_outcomes = frozenset({"success"})

    def step(self, state: dict[str, Any] | None, event: AccessEvent) -> tuple[Any, list[Finding]]:
        place = place_of(event, self.context.geo)
        if place is None or (place.country is None and place.network is None):
            return state, []
        cfg = self.config
        ts = event.ts
        st: dict[str, Any] = state if state is not None else {"n": 0, "t0": ts, "c": [], "a": []}
        country = place.country
        network = place.network[:32] if place.network else None  # names stay short in state
        new_country = country is not None and not _known(st["c"], country)
        new_network = network is not None and not _known(st["a"], network)
        warm = st["n"] >= cfg.warmup_logins or ts - st["t0"] >= cfg.warmup_seconds
        found = []
        if warm and (new_country or new_network):
            found.append(
                self._finding(
                    event, st, country if new_country else None, network if new_network else None
                )
            )
        st["n"] += 1
        st["t0"] = min(st["t0"], ts)
        if country is not None:
            _learn(st["c"], country, ts, cfg.max_countries)
        if network is not None:
            _learn(st["a"], network, ts, cfg.max_networks)
        return st, found

    def _finding(
        self, event: AccessEvent, st: dict[str, Any], country: str | None, network: str | None
    ) -> Finding:
        cfg = self.config
        user, ts = event.user, event.ts
        known_c = [c for c, _ in st["c"]]
        known_a = [a for a, _ in st["a"]]
        news = []
        if country:
            news.append(f"country {country} (known: {', '.join(known_c) or 'none'})")
        if network:
            news.append(f"network {network} (known: {', '.join(known_a[:8]) or 'none'})")
        ip = f" from {event.source_ip}" if event.source_ip else ""
        return Finding(
            detector=self.name,
            severity=cfg.severity,
            key_kind="user",
            key=user,
            title=f"Login from a new {'country' if country else 'network'} for {user}",
            explanation=(
                f"{user} logged in{ip} for the first time from {' and '.join(news)}, after "
                f"{plural(st['n'], 'located login')} over {duration(ts - st['t0'])} "
                f"(warm-up: {cfg.warmup_logins} logins or {duration(cfg.warmup_seconds)})."
            ),
            incident=event.event_id,
            first_seen=ts,
            last_seen=ts,
            event_ids=(event.event_id,),
            user=user,
            source_ips=(event.source_ip,) if event.source_ip else (),
            evidence={
                "new_country": country,
                "new_network": network,
                "known_countries": known_c,
                "known_networks": known_a,
                "located_logins": st["n"],
                "history_seconds": round(ts - st["t0"], 3),
                "warmup_logins": cfg.warmup_logins,
                "warmup_seconds": cfg.warmup_seconds,
            },
        )


def _known(seen: list[list[Any]], value: str) -> bool:
    return any(v == value for v, _ in seen)


def _learn(seen: list[list[Any]], value: str, ts: float, cap: int) -> None:
    """Record ``value`` as seen at ``ts``; past ``cap``, forget the least recently seen."""
    ts = int(ts)  # whole seconds are enough to order by recency, and shorter in state
    for item in seen:
        if item[0] == value:
            item[1] = max(item[1], ts)
            return
    seen.append([value, ts])
    if len(seen) > cap:
        seen.remove(min(seen, key=lambda item: item[1]))
