"""``impossible_travel``: two consecutive successful logins too far apart for the time between.

Needs coordinates: ``event.geo`` lat/lon, or a :class:`~detectors.geo.GeoLookup` that returns
them. The offline ``geoip2fast`` data is country/ASN-level only, without coordinates, so
logins located only by it are skipped (a country centroid would invent distances). Pairs
closer than ``min_distance_km`` are ignored: geo-IP places are approximate.

Speed is great-circle distance over time between; two logins in the same second far apart
are infinitely fast. The user's located logins of the last allowed-lateness seconds are kept
(at most 4) so an out-of-order login is compared with its neighbours in event time; later
ones are counted in ``late`` and ignored. Each impossible pair is one incident, named by the
id of its later login.
"""

from __future__ import annotations

from math import asin, cos, inf, radians, sin, sqrt
from typing import Any

from pydantic import Field

from detectors.base import Detector, DetectorConfig
from detectors.events import AccessEvent
from detectors.findings import Finding, Severity, utc
from detectors.geo import place_of
from detectors.text import duration
from detectors.windows import insert, is_late

__all__ = ["ImpossibleTravel", "ImpossibleTravelConfig", "great_circle_km"]

EARTH_RADIUS_KM = 6371.0
#: Located logins kept per user (the newest, plus those still within the allowed lateness).
MAX_KEPT = 4


class ImpossibleTravelConfig(DetectorConfig):
    max_speed_kmh: float = Field(
        default=1000.0, gt=0, le=100000, description="fastest believable travel"
    )
    min_distance_km: float = Field(
        default=100.0, ge=0, le=20000, description="pairs closer than this are geo-IP noise"
    )
    severity: Severity = "high"


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    """Haversine distance: ``round(great_circle_km(52.52, 13.405, 40.7128, -74.006))`` is 6385."""
    p1, p2 = radians(lat1), radians(lat2)
    dp, dl = p2 - p1, radians(lon2 - lon1)
    h = sin(dp / 2) ** 2 + cos(p1) * cos(p2) * sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * asin(min(1.0, sqrt(h)))


class ImpossibleTravel(Detector[ImpossibleTravelConfig]):
    """Consecutive successful logins faster apart than ``max_speed_kmh``.

    >>> from detectors.testing import make_event
    >>> det = ImpossibleTravel(ImpossibleTravelConfig())
    >>> berlin = {"city": "Berlin", "country": "DE", "lat": 52.52, "lon": 13.405}
    >>> nyc = {"city": "New York", "country": "US", "lat": 40.7128, "lon": -74.006}
    >>> state, _ = det.step(None, make_event(ts=0, geo=berlin))
    >>> state, found = det.step(state, make_event(ts=3600, geo=nyc))
    >>> found[0].evidence["distance_km"], found[0].evidence["speed_kmh"]
    (6385, 6385)
    """

    name = "impossible_travel"
    key_kind = "user"
    config_model = ImpossibleTravelConfig
    accepts_actions = frozenset({"login"})
    accepts_outcomes = frozenset({"success"})

    def step(self, state: dict[str, Any] | None, event: AccessEvent) -> tuple[Any, list[Finding]]:
        place = place_of(event, self.context.geo)
        if place is None or place.lat is None or place.lon is None:
            return state, []
        ts = event.ts
        st: dict[str, Any] = state if state is not None else {"wm": ts, "p": []}
        lateness = self.allowed_lateness_seconds
        if is_late(st["wm"], ts, lateness):
            st["late"] = st.get("late", 0) + 1
            return st, []
        st["wm"] = max(st["wm"], ts)
        kept: list[list[Any]] = st["p"]
        entry = [ts, event.event_id, place.lat, place.lon, place.label()[:64], event.source_ip]
        insert(kept, entry)
        i = kept.index(entry)
        found = []
        for a, b in ((i - 1, i), (i, i + 1)):
            if a >= 0 and b < len(kept):
                finding = self._judge(event.user, kept[a], kept[b])
                if finding is not None:
                    found.append(finding)
        cutoff = st["wm"] - lateness
        keep_from = max(0, len(kept) - MAX_KEPT)
        while keep_from < len(kept) - 1 and kept[keep_from][0] < cutoff:
            keep_from += 1
        del kept[:keep_from]
        return st, found

    def _judge(self, user: str, a: list[Any], b: list[Any]) -> Finding | None:
        cfg = self.config
        km = great_circle_km(a[2], a[3], b[2], b[3])
        if km < cfg.min_distance_km:
            return None
        seconds = b[0] - a[0]
        speed = km / (seconds / 3600) if seconds > 0 else inf
        if speed <= cfg.max_speed_kmh:
            return None
        pace = f"{speed:,.0f} km/h" if speed != inf else "in no time at all"
        return Finding(
            detector=self.name,
            severity=cfg.severity,
            key_kind="user",
            key=user,
            title=f"Impossible travel for {user}: {a[4]} to {b[4]}",
            explanation=(
                f"{user} logged in from {a[4]} at {utc(a[0]):%Y-%m-%d %H:%M:%S} UTC and from "
                f"{b[4]} {duration(seconds)} later: {km:,.0f} km, {pace} "
                f"(limit: {cfg.max_speed_kmh:,.0f} km/h; pairs under "
                f"{cfg.min_distance_km:,.0f} km are ignored)."
            ),
            incident=b[1],
            first_seen=a[0],
            last_seen=b[0],
            event_ids=(a[1], b[1]),
            user=user,
            source_ips=tuple(dict.fromkeys(ip for ip in (a[5], b[5]) if ip)),
            evidence={
                "from": a[4],
                "to": b[4],
                "distance_km": round(km),
                "seconds_between": round(seconds, 3),
                "speed_kmh": round(speed) if speed != inf else None,
                "max_speed_kmh": cfg.max_speed_kmh,
                "min_distance_km": cfg.min_distance_km,
            },
        )
