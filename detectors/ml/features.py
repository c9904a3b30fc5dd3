"""Per-event behavioural features from the user's own history, every one scaled to [0, 1].

A user's baseline is a small JSON-compatible dict (a few hundred bytes; see docs/ml.md):

- ``h``/``d``: hour-of-day and weekday histograms of their events, halved when they grow
  large, so old habits fade;
- ``b``: the current 10-minute bucket ``[start, events, failures, resources, networks]``
  (hashed, capped) and ``r``/``u``: EWMAs of events and distinct resources per active bucket;
- ``kr``/``kn``/``kc``: capped, least-recently-used sets of hashed resources, hashed source
  networks (/24 for IPv4, /48 for IPv6) and countries seen before;
- ``s``: EWMA shares of sensitive, privileged and interactive events;
- ``t``/``g``/``sg``/``si``: last event time, EWMA of log idle gaps before sessions, and the
  idle-gap feature and idle hours before the current session.

:func:`extract` returns the features of an event against the baseline *before* the event
(window features include it) and :func:`update` folds the event in; an :class:`Observation`
does both with the shared work done once. High values always mean
"unusual for this user", which is what the shared model and the explanations rely on.
Out-of-order events are folded in as they come: an event older than the current bucket counts
in it, and the last-seen time only moves forward.

>>> from detectors.testing import make_event
>>> base = new_baseline()
>>> feats = extract(base, make_event(ts=0, action="view", resource="db/prod/x",
...                                  environment="production"), Context())
>>> sorted(feats) == sorted(FEATURES), all(0.0 <= v <= 1.0 for v in feats.values())
(True, True)
"""

from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass
from functools import lru_cache
from hashlib import blake2b
from typing import Any

from detectors.events import AccessEvent

__all__ = [
    "BUCKET_SECONDS",
    "FEATURES",
    "PRIVILEGED_ACTIONS",
    "Context",
    "Observation",
    "extract",
    "is_interactive",
    "network_of",
    "new_baseline",
    "update",
]

#: Feature names, in a fixed order. Every feature dict has exactly these keys.
FEATURES: tuple[str, ...] = (
    "hour_rarity",
    "weekday_rarity",
    "rate",
    "distinct_resources",
    "distinct_networks",
    "failure_ratio",
    "new_resource",
    "new_sensitive_resource",
    "new_network",
    "new_country",
    "sensitive",
    "privileged",
    "interactive",
    "idle_gap",
    "service_actor",
)

#: Length of the "recent window" in which rates and distinct counts are taken.
BUCKET_SECONDS = 600
PRIVILEGED_ACTIONS = frozenset(
    {"delete", "elevate", "key_create", "key_rotate", "key_revoke", "modify_policy", "grant"}
)
_INTERACTIVE_ACTIONS = frozenset({"login", "mfa", "logout"})
_HIST_CAP = 1000  # halve the hour histogram when its total passes this
_WEEK_CAP = 500
_KNOWN_RESOURCES = 24
_KNOWN_NETWORKS = 8
_KNOWN_COUNTRIES = 4
_BUCKET_RESOURCES = 24
_BUCKET_NETWORKS = 6
_EWMA = 0.05  # per closed bucket / per session
_SHARE_EWMA = 0.02  # per event
_SESSION_GAP_SECONDS = 3600.0


@dataclass(frozen=True, slots=True)
class Context:
    """What the features need beyond the event and the baseline (from config)."""

    sensitive_environments: frozenset[str] = frozenset({"production"})


def new_baseline() -> dict[str, Any]:
    """An empty baseline for a user never seen before."""
    return {
        "h": [0] * 24, "d": [0] * 7, "b": None, "r": 0.0, "u": 0.0,
        "kr": [], "kn": [], "kc": [], "s": [0.0, 0.0, 0.0],
        "t": None, "g": 0.0, "sg": 0.0, "si": 0.0,
    }


@lru_cache(maxsize=65536)
def _h(text: str) -> str:
    # 20-bit hashes: a collision only makes one resource look familiar; sets stay small.
    return blake2b(text.encode(), digest_size=3).hexdigest()[:5]


@lru_cache(maxsize=65536)
def network_of(ip: str) -> str:
    """The /24 (IPv4) or /48 (IPv6) network an address belongs to, as text."""
    addr = ipaddress.ip_address(ip)
    prefix = 24 if addr.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False))


def is_interactive(event: AccessEvent) -> bool:
    """A person at a keyboard: an interactive login step, or a browser user agent."""
    ua = event.user_agent or ""
    return event.action in _INTERACTIVE_ACTIONS or ua.startswith("Mozilla/")


def _excess(ratio: float) -> float:
    """0 at or below the usual level, towards 1 far above it (4x usual gives 0.5)."""
    over = max(0.0, ratio - 1.0)
    return over / (over + 3.0)


def _rarity(hist: list[int], i: int, smooth: bool) -> float:
    """0 for a bin at least half as busy as the busiest, up to 1. With ``smooth`` each bin
    counts its two neighbours at a quarter weight; summed here on four times the counts, in
    integers, which gives exactly the floats that summing quarters would."""
    n = len(hist)
    if smooth:
        prev, top = hist[-1], 0
        for j in range(n):
            x = 4 * hist[j] + prev + hist[j + 1 - n]
            prev = hist[j]
            if x > top:
                top = x
        at = 4 * hist[i] + hist[i - 1] + hist[(i + 1) % n]
    else:
        top, at = max(hist), hist[i]
    return max(0.0, 1.0 - at / (0.5 * top)) if top > 0 else 1.0


def _resource_hash(event: AccessEvent) -> str | None:
    return None if event.resource is None else _h(event.resource)


def _network_hash(event: AccessEvent) -> str | None:
    return None if event.source_ip is None else _h(network_of(event.source_ip))


def _window(b: list[Any] | None, ts: int, failed: bool, rh: str | None,
            nh: str | None) -> list[Any]:
    """The current bucket ``b`` as it is with this event in it (a new list)."""
    start = ts - ts % BUCKET_SECONDS
    if b is None or start > b[0]:
        b = [start, 0, 0, [], []]
    else:
        b = [b[0], b[1], b[2], list(b[3]), list(b[4])]
    b[1] += 1
    if failed:
        b[2] += 1
    if rh is not None and rh not in b[3] and len(b[3]) < _BUCKET_RESOURCES:
        b[3].append(rh)
    if nh is not None and nh not in b[4] and len(b[4]) < _BUCKET_NETWORKS:
        b[4].append(nh)
    return b


def _gap_feature(base: dict[str, Any], ts: int) -> float:
    last = base["t"]
    if last is None or ts - last <= _SESSION_GAP_SECONDS:
        return float(base["sg"])
    gap = math.log1p((ts - last) / 3600.0)
    return min(1.0, max(0.0, (gap - base["g"]) / 4.0))


class Observation:
    """What one event brings, worked out once for both its features and its fold-in."""

    __slots__ = ("b", "country", "hour", "interactive", "nh", "old", "privileged", "rh",
                 "sens", "service", "ts", "wday")

    def __init__(self, base: dict[str, Any], event: AccessEvent, ctx: Context) -> None:
        self.ts = ts = int(event.ts)
        stamp = event.timestamp
        self.hour, self.wday = stamp.hour, stamp.weekday()
        self.rh, self.nh = _resource_hash(event), _network_hash(event)
        self.sens = event.environment in ctx.sensitive_environments
        self.privileged = event.action in PRIVILEGED_ACTIONS
        self.interactive = is_interactive(event)
        self.country = event.geo.country if event.geo is not None else None
        self.service = event.actor_type == "service"
        self.old = old = base["b"]
        self.b = _window(old, ts, event.outcome != "success", self.rh, self.nh)

    def features(self, base: dict[str, Any]) -> dict[str, float]:
        """The event's features against ``base`` as it is before the fold-in."""
        b, rh, nh, sens, country = self.b, self.rh, self.nh, self.sens, self.country
        new_res = rh is not None and rh not in base["kr"]
        share_s, share_p, share_i = base["s"]
        return {
            "hour_rarity": _rarity(base["h"], self.hour, True),
            "weekday_rarity": _rarity(base["d"], self.wday, False),
            "rate": _excess(b[1] / max(base["r"], 1.0)),
            "distinct_resources": _excess(len(b[3]) / max(base["u"], 1.0)),
            "distinct_networks": (len(b[4]) - 1) / (len(b[4]) + 1) if b[4] else 0.0,
            "failure_ratio": b[2] / (b[1] + 2),
            "new_resource": 1.0 if new_res else 0.0,
            "new_sensitive_resource": 1.0 if new_res and sens else 0.0,
            "new_network": 1.0 if nh is not None and nh not in base["kn"] else 0.0,
            "new_country": 1.0 if country is not None and country not in base["kc"] else 0.0,
            "sensitive": (1.0 - share_s) if sens else 0.0,
            "privileged": (1.0 - share_p) if self.privileged else 0.0,
            "interactive": (1.0 - share_i) if self.interactive else 0.0,
            "idle_gap": _gap_feature(base, self.ts),
            "service_actor": 1.0 if self.service else 0.0,
        }

    def fold(self, base: dict[str, Any]) -> None:
        """Fold the event into ``base`` in place (once, after any :meth:`features`)."""
        ts, old, b = self.ts, self.old, self.b
        _bump(base["h"], self.hour, _HIST_CAP)
        _bump(base["d"], self.wday, _WEEK_CAP)
        if old is not None and b[0] != old[0]:  # the previous bucket closed
            base["r"] = _ewma(base["r"], old[1], _EWMA)
            base["u"] = _ewma(base["u"], len(old[3]), _EWMA)
        base["b"] = b
        last = base["t"]
        if last is not None and ts - last > _SESSION_GAP_SECONDS:
            base["sg"] = round(_gap_feature(base, ts), 3)
            base["si"] = round((ts - last) / 3600.0, 1)
            gap = math.log1p((ts - last) / 3600.0)
            base["g"] = _ewma(base["g"], gap, _EWMA * 4) if base["g"] else round(gap, 4)
        elif last is None:
            base["sg"] = 0.0
        base["t"] = ts if last is None else max(last, ts)
        if self.rh is not None:
            _remember(base["kr"], self.rh, _KNOWN_RESOURCES)
        if self.nh is not None:
            _remember(base["kn"], self.nh, _KNOWN_NETWORKS)
        if self.country is not None:
            _remember(base["kc"], self.country, _KNOWN_COUNTRIES)
        s = base["s"]
        s[0] = _ewma(s[0], float(self.sens), _SHARE_EWMA)
        s[1] = _ewma(s[1], float(self.privileged), _SHARE_EWMA)
        s[2] = _ewma(s[2], float(self.interactive), _SHARE_EWMA)


def extract(base: dict[str, Any], event: AccessEvent, ctx: Context) -> dict[str, float]:
    """The complete feature dict of ``event`` against ``base`` (not modified)."""
    return Observation(base, event, ctx).features(base)


def update(base: dict[str, Any], event: AccessEvent, ctx: Context) -> None:
    """Fold ``event`` into ``base`` in place."""
    Observation(base, event, ctx).fold(base)


def _remember(known: list[str], item: str, cap: int) -> None:
    """Move ``item`` to the most-recent end of ``known``; drop the oldest beyond ``cap``."""
    if item in known:
        known.remove(item)
    known.append(item)
    if len(known) > cap:
        del known[0]


def _ewma(old: float, new: float, alpha: float) -> float:
    return round(old + alpha * (new - old), 4)


def _bump(hist: list[int], i: int, cap: int) -> None:
    hist[i] += 1
    if sum(hist) > cap:
        hist[:] = [c // 2 for c in hist]
