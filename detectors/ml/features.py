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
(window features include it) and :func:`update` folds the event in. High values always mean
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
    "current_window",
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


def _rarity(hist: list[int], i: int, smooth: float) -> float:
    """0 for a bin at least half as busy as the busiest (neighbours count ``smooth``), up to 1."""
    s: list[float] | list[int]
    if smooth:
        s = [a + smooth * (b + c) for a, b, c in zip(hist, hist[-1:] + hist[:-1],
                                                     hist[1:] + hist[:1], strict=True)]
    else:
        s = hist
    top = max(s)
    return max(0.0, 1.0 - s[i] / (0.5 * top)) if top > 0 else 1.0


def current_window(base: dict[str, Any], event: AccessEvent, ts: int) -> list[Any]:
    """The current bucket as it is with this event in it (a new list; base is untouched)."""
    start = ts - ts % BUCKET_SECONDS
    b = base["b"]
    if b is None or start > b[0]:
        b = [start, 0, 0, [], []]
    else:
        b = [b[0], b[1], b[2], list(b[3]), list(b[4])]
    b[1] += 1
    if event.outcome != "success":
        b[2] += 1
    if event.resource is not None:
        rh = _h(event.resource)
        if rh not in b[3] and len(b[3]) < _BUCKET_RESOURCES:
            b[3].append(rh)
    if event.source_ip is not None:
        nh = _h(network_of(event.source_ip))
        if nh not in b[4] and len(b[4]) < _BUCKET_NETWORKS:
            b[4].append(nh)
    return b


def _gap_feature(base: dict[str, Any], ts: int) -> float:
    last = base["t"]
    if last is None or ts - last <= _SESSION_GAP_SECONDS:
        return float(base["sg"])
    gap = math.log1p((ts - last) / 3600.0)
    return min(1.0, max(0.0, (gap - base["g"]) / 4.0))


def extract(base: dict[str, Any], event: AccessEvent, ctx: Context) -> dict[str, float]:
    """The complete feature dict of ``event`` against ``base`` (not modified)."""
    ts = int(event.ts)
    hour, wday = event.timestamp.hour, event.timestamp.weekday()
    b = current_window(base, event, ts)
    sens = event.environment in ctx.sensitive_environments
    new_res = event.resource is not None and _h(event.resource) not in base["kr"]
    new_net = (event.source_ip is not None
               and _h(network_of(event.source_ip)) not in base["kn"])
    country = event.geo.country if event.geo is not None else None
    share_s, share_p, share_i = base["s"]
    return {
        "hour_rarity": _rarity(base["h"], hour, 0.25),
        "weekday_rarity": _rarity(base["d"], wday, 0.0),
        "rate": _excess(b[1] / max(base["r"], 1.0)),
        "distinct_resources": _excess(len(b[3]) / max(base["u"], 1.0)),
        "distinct_networks": (len(b[4]) - 1) / (len(b[4]) + 1) if b[4] else 0.0,
        "failure_ratio": b[2] / (b[1] + 2),
        "new_resource": 1.0 if new_res else 0.0,
        "new_sensitive_resource": 1.0 if new_res and sens else 0.0,
        "new_network": 1.0 if new_net else 0.0,
        "new_country": 1.0 if country is not None and country not in base["kc"] else 0.0,
        "sensitive": (1.0 - share_s) if sens else 0.0,
        "privileged": (1.0 - share_p) if event.action in PRIVILEGED_ACTIONS else 0.0,
        "interactive": (1.0 - share_i) if is_interactive(event) else 0.0,
        "idle_gap": _gap_feature(base, ts),
        "service_actor": 1.0 if event.actor_type == "service" else 0.0,
    }


def _remember(known: list[str], item: str, cap: int) -> None:
    """Move ``item`` to the most-recent end of ``known``; drop the oldest beyond ``cap``."""
    if item in known:
        known.remove(item)
    known.append(item)
    if len(known) > cap:
        del known[0]


def _ewma(old: float, new: float, alpha: float) -> float:
    return round(old + alpha * (new - old), 4)


def update(base: dict[str, Any], event: AccessEvent, ctx: Context) -> None:
    """Fold ``event`` into ``base`` in place."""
    ts = int(event.ts)
    hour, wday = event.timestamp.hour, event.timestamp.weekday()
    _bump(base["h"], hour, _HIST_CAP)
    _bump(base["d"], wday, _WEEK_CAP)
    old = base["b"]
    b = current_window(base, event, ts)
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
    if event.resource is not None:
        _remember(base["kr"], _h(event.resource), _KNOWN_RESOURCES)
    if event.source_ip is not None:
        _remember(base["kn"], _h(network_of(event.source_ip)), _KNOWN_NETWORKS)
    if event.geo is not None and event.geo.country is not None:
        _remember(base["kc"], event.geo.country, _KNOWN_COUNTRIES)
    s = base["s"]
    s[0] = _ewma(s[0], float(event.environment in ctx.sensitive_environments), _SHARE_EWMA)
    s[1] = _ewma(s[1], float(event.action in PRIVILEGED_ACTIONS), _SHARE_EWMA)
    s[2] = _ewma(s[2], float(is_interactive(event)), _SHARE_EWMA)


def _bump(hist: list[int], i: int, cap: int) -> None:
    hist[i] += 1
    if sum(hist) > cap:
        hist[:] = [c // 2 for c in hist]
