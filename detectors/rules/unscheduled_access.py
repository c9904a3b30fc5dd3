"""``unscheduled_access``: sensitive access outside every schedule that applies to the user.

Schedules are weekly windows in an IANA time zone (``Mon-Fri 08:00-18:00 Europe/Amsterdam``),
given per role and per user; on-call rotations add explicit UTC ranges per user. Local time
comes from ``zoneinfo``, so a window that starts at 08:00 local starts an hour earlier in UTC
after the spring DST switch. A window includes its start and excludes its end.

An event is checked when it is a successful action (not in ``exempt_actions``) in one of
``environments`` (default: the top-level ``sensitive_environments``) or on a resource matching
``resources``. Its applicable schedules are the user's own plus those of every role on the
event; it is in policy when inside any of them, inside an on-call range of the user, or
covered by an active elevation. Users with no applicable schedule are not checked, even if
they have on-call ranges (those extend a schedule, they do not create one).

Elevations: a successful ``elevate`` by the user grants its scope (see
:func:`detectors.policy.grant_scope`) from the event time until ``attributes.expires_at``;
the most recent ``max_grants`` are kept in the user's state until they expire.

One incident per off-schedule stretch: further off-schedule accesses less than
``incident_gap_seconds`` after the previous one extend it without a new alert. A destructive
action (``destructive_actions``) raises the stretch to ``destructive_severity`` with one more
alert (its own incident), once.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

from detectors.base import Detector, DetectorConfig
from detectors.events import AccessEvent
from detectors.findings import Finding, Severity, utc
from detectors.policy import Glob, attribute_time, compile_globs, grant_scope, scope_covers
from detectors.text import plural

__all__ = ["OnCall", "Schedule", "UnscheduledAccess", "UnscheduledAccessConfig"]

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_HOURS_RE = re.compile(r"^(\d\d):(\d\d)-(\d\d):(\d\d)$")
#: Used when the detector is built by hand without ``environments`` (the Config fills it in).
DEFAULT_ENVIRONMENTS = ("production",)


def _parse_days(tokens: tuple[str, ...]) -> frozenset[int]:
    out: set[int] = set()
    for token in tokens:
        first, _, last = token.strip().lower().partition("-")
        if first not in DAYS or (last and last not in DAYS):
            raise ValueError(
                f"{token!r} is not a weekday or a range like 'mon-fri' ({', '.join(DAYS)})")
        a, b = DAYS.index(first), DAYS.index(last or first)
        out.update(d % 7 for d in range(a, b + 1 if b >= a else b + 8))
    return frozenset(out)


def _parse_hours(value: str) -> tuple[int, int]:
    m = _HOURS_RE.match(value)
    if not m:
        raise ValueError(f"{value!r} is not a range like '08:00-18:00'")
    h1, m1, h2, m2 = (int(g) for g in m.groups())
    if h1 > 23 or m1 > 59 or h2 > 24 or m2 > 59 or (h2 == 24 and m2):
        raise ValueError(f"{value!r}: hours run 00:00 to 24:00")
    start, end = h1 * 3600 + m1 * 60, h2 * 3600 + m2 * 60
    if start >= end:
        raise ValueError(
            f"{value!r}: the start must be before the end; split a window that crosses "
            "midnight into two (e.g. 22:00-24:00 and 00:00-06:00 on the next days)"
        )
    return start, end


class Schedule(BaseModel):
    """A weekly window in local time: ``days`` at ``hours`` in ``timezone``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    timezone: str = Field(description="IANA time zone, e.g. Europe/Amsterdam")
    days: tuple[str, ...] = Field(
        default=("mon-fri",), min_length=1, description="weekdays or ranges: [mon-fri], [sat, sun]"
    )
    hours: str = Field(description="local 'HH:MM-HH:MM', start included, end (up to 24:00) not")

    @field_validator("timezone")
    @classmethod
    def _zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA time zone name") from None
        return value

    @field_validator("days")
    @classmethod
    def _days(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        _parse_days(value)
        return value

    @field_validator("hours")
    @classmethod
    def _hours(cls, value: str) -> str:
        _parse_hours(value)
        return value

    def describe(self) -> str:
        return f"{','.join(self.days)} {self.hours} {self.timezone}"


class OnCall(BaseModel):
    """An on-call shift: ``user`` may access sensitive systems from ``start`` until ``end``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    user: str = Field(min_length=1)
    start: AwareDatetime = Field(description="RFC 3339 with offset (normalised to UTC)")
    end: AwareDatetime = Field(description="RFC 3339 with offset, after start")

    @model_validator(mode="after")
    def _ordered(self) -> OnCall:
        if self.end <= self.start:
            raise ValueError(f"on-call range for {self.user!r} ends before it starts")
        return self


class UnscheduledAccessConfig(DetectorConfig):
    enabled: bool = False  # needs a site's schedules
    severity: Severity = "medium"
    environments: tuple[str, ...] | None = Field(
        default=None,
        description="environments checked; omitted: the top-level sensitive_environments",
    )
    resources: tuple[Glob, ...] = Field(
        default=(), description="resource globs checked in any environment, e.g. 'db/prod/*'"
    )
    role_schedules: dict[str, tuple[Schedule, ...]] = Field(
           default_factory=dict, description="role name -> its working windows"
    )
    user_schedules: dict[str, tuple[Schedule, ...]] = Field(
           default_factory=dict, description="user name -> their own working windows"
    )
    on_call: tuple[OnCall, ...] = Field(
        default=(), description="on-call shifts as explicit UTC ranges")
    exempt_actions: tuple[str, ...] = Field(
        default=("logout", "elevate"),
        description="actions never checked (elevate is how access is asked for)",
    )
    destructive_actions: tuple[str, ...] = Field(
        default=("delete", "modify"),
        description="actions that raise the alert to destructive_severity",
    )
    destructive_severity: Severity = "high"
    incident_gap_seconds: float = Field(
        default=3600.0, gt=0, le=7 * 86400,
        description="off-schedule accesses closer than this belong to one incident",
    )
    max_grants: int = Field(
        default=8, ge=1, le=100, description="active elevations remembered per user")


_Window = tuple[ZoneInfo, frozenset[int], int, int, str]


#: Bound of the (user, roles) -> schedules memo; cleared when full.
_MEMO_SIZE = 4096


class _Applicable:
    """The windows that apply to a (user, roles) pair, shared by every pair with the same
    windows, with whether the UTC minute last asked about is inside one of them.

    Windows start and end on whole local minutes, so when every zone's offset is whole
    minutes too (all offsets in use since 1972) the answer holds for the whole UTC minute:
    users who share a schedule then cost one check per minute, not one per event.
    """

    __slots__ = ("inside", "minute", "windows")

    def __init__(self, windows: tuple[_Window, ...]) -> None:
        self.windows = windows
        self.minute: float | None = None  # None: nothing remembered
        self.inside = False


def _compile(schedules: tuple[Schedule, ...]) -> list[_Window]:
    out = []
    for s in schedules:
        start, end = _parse_hours(s.hours)
        out.append((ZoneInfo(s.timezone), _parse_days(s.days), start, end, s.describe()))
    return out


class UnscheduledAccess(Detector[UnscheduledAccessConfig]):
    """Sensitive access outside every schedule that applies to the user.

    >>> from detectors.testing import make_event
    >>> cfg = UnscheduledAccessConfig(role_schedules={"eng": [
    ...     {"timezone": "Europe/Amsterdam", "days": ["mon-fri"], "hours": "08:00-18:00"}]})
    >>> det = UnscheduledAccess(cfg)
    >>> ev = dict(action="view", environment="production", roles=["eng"])
    >>> st, found = det.step(None, make_event(ts=0, **ev))  # Monday 10:00 in Amsterdam
    >>> found
    []
    >>> st, found = det.step(st, make_event(ts=9 * 3600, **ev))  # Monday 19:00 in Amsterdam
    >>> found[0].severity, found[0].evidence["local_times"]
    ('medium', ['Mon 19:00 Europe/Amsterdam'])
    """

    name = "unscheduled_access"
    key_kind = "user"
    config_model = UnscheduledAccessConfig
    accepts_outcomes = frozenset({"success"})

    def __init__(self, config: UnscheduledAccessConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        envs = config.environments if config.environments is not None else DEFAULT_ENVIRONMENTS
        self._envs = frozenset(envs)
        self._resources = compile_globs(config.resources)
        self._exempt = frozenset(config.exempt_actions)
        self._destructive = frozenset(config.destructive_actions)
        self._roles = {r: _compile(s) for r, s in config.role_schedules.items()}
        self._users = {u: _compile(s) for u, s in config.user_schedules.items()}
        on_call: dict[str, list[tuple[float, float]]] = {}
        for shift in config.on_call:
            on_call.setdefault(shift.user, []).append(
                (shift.start.timestamp(), shift.end.timestamp()))
        self._on_call = on_call
        # Pure memos (same answer for the same input), so instances stay deterministic.
        self._windows_memo: dict[tuple[str, tuple[str, ...]], _Applicable] = {}
        self._shared: dict[tuple[_Window, ...], _Applicable] = {}
        self._clock: dict[ZoneInfo, tuple[float, int, int]] = {}

    def admits(self, action: str, outcome: str) -> bool:
        return outcome == "success" and (action == "elevate" or action not in self._exempt)

    def accepts(self, event: AccessEvent) -> bool:
        # _checked inlined: asked of nearly every event the engine routes here
        return event.outcome == "success" and (event.action == "elevate" or (
            event.action not in self._exempt and (
                event.environment in self._envs
                or (event.resource is not None and self._resources(event.resource) is not None)
            )))

    def _checked(self, event: AccessEvent) -> bool:
        return event.action not in self._exempt and (
            event.environment in self._envs
            or (event.resource is not None and self._resources(event.resource) is not None)
        )

    def step(self, state: dict[str, Any] | None, event: AccessEvent) -> tuple[Any, list[Finding]]:
        ts = event.ts
        if event.action == "elevate":
            state = self._grant(state, event, ts)
            if not self._checked(event):
                return self._keep(state, ts), []
        user = event.user
        applicable = self._windows_memo.get((user, event.roles))
        if applicable is None:
            applicable = self._windows(user, event.roles)
        windows = applicable.windows
        if not windows or (
            applicable.inside if applicable.minute == ts // 60 else self._inside(applicable, ts)
        ) or self._on_call_at(user, ts):
            # The common case: on schedule, and nothing kept (no grant, no open incident).
            return (None if state is None else self._keep(state, ts)), []
        st = state if state is not None else {"grants": [], "open": None}
        if any(g[1] <= ts < g[0] and scope_covers(g[2], event) for g in st["grants"]):
            return self._keep(st, ts), []
        found = self._off_schedule(st, event, windows)
        return self._keep(st, ts), found

    def _grant(self, state: dict[str, Any] | None, event: AccessEvent, ts: float
               ) -> dict[str, Any] | None:
        expires = attribute_time(event, "expires_at")
        if expires is None or expires <= ts:
            return state
        st = state if state is not None else {"grants": [], "open": None}
        grants = st["grants"]
        grants.append([expires, ts, grant_scope(event), event.event_id])
        grants.sort()
        del grants[: max(0, len(grants) - self.config.max_grants)]
        return st

    def _windows(self, user: str, roles: tuple[str, ...]) -> _Applicable:
        key = (user, roles)
        hit = self._windows_memo.get(key)
        if hit is None:
            found = list(self._users.get(user, ()))
            for role in roles:
                found.extend(self._roles.get(role, ()))
            if len(self._windows_memo) >= _MEMO_SIZE:
                self._windows_memo.clear()
                self._shared.clear()
            windows = tuple(found)
            hit = self._shared.get(windows)
            if hit is None:
                hit = self._shared[windows] = _Applicable(windows)
            self._windows_memo[key] = hit
        return hit

    def _inside(self, applicable: _Applicable, ts: float) -> bool:
        """Whether ``ts`` is inside one of the windows; remembered for its UTC minute when
        every zone asked had a whole-minute offset (see :class:`_Applicable`)."""
        minute = ts // 60
        clock = self._clock
        inside = False
        whole = True
        for zone, days, start, end, _ in applicable.windows:
            hit = clock.get(zone)
            if hit is not None and hit[0] == minute:  # inline fast path of _local
                day, sec = hit[1], hit[2] + (ts - minute * 60)
            else:
                day, sec = self._local(zone, ts)
                hit = clock.get(zone)  # _local keeps only whole-minute offsets
                whole = whole and hit is not None and hit[0] == minute
            if day in days and start <= sec < end:
                inside = True
                break
        applicable.minute = minute if whole else None
        applicable.inside = inside
        return inside

    def _on_call_at(self, user: str, ts: float) -> bool:
        shifts = self._on_call.get(user)
        return shifts is not None and any(a <= ts < b for a, b in shifts)

    def _local(self, zone: ZoneInfo, ts: float) -> tuple[int, float]:
        """Local weekday and second of the day. Cached per zone for the current UTC minute:
        zone offsets in use since 1972 are whole minutes and change only at whole minutes,
        so one lookup holds for the whole minute (offsets with seconds are not cached)."""
        minute = ts // 60
        hit = self._clock.get(zone)
        if hit is None or hit[0] != minute:
            local = datetime.fromtimestamp(minute * 60, zone)
            if local.second:
                local = datetime.fromtimestamp(ts, zone)
                return local.weekday(), (local.hour * 3600 + local.minute * 60 + local.second
                                         + local.microsecond / 1e6)
            base = local.hour * 3600 + local.minute * 60
            hit = self._clock[zone] = (minute, local.weekday(), base)
        return hit[1], hit[2] + (ts - minute * 60)

    def _off_schedule(self, st: dict[str, Any], event: AccessEvent, windows: tuple[_Window, ...]
                      ) -> list[Finding]:
        cfg, ts = self.config, event.ts
        destructive = event.action in self._destructive
        open_ = st["open"]
        if open_ is not None and abs(ts - open_[1]) <= cfg.incident_gap_seconds:
            open_[1], open_[2] = max(open_[1], ts), open_[2] + 1
            if not destructive or open_[3]:
                return []
            open_[3] = True
            return [self._finding(event, windows, cfg.destructive_severity, open_[2])]
        st["open"] = [event.event_id, ts, 1, destructive]
        severity = cfg.destructive_severity if destructive else cfg.severity
        return [self._finding(event, windows, severity, 1)]

    def _keep(self, st: dict[str, Any] | None, ts: float) -> dict[str, Any] | None:
        """Drop what no longer matters (expired grants, a closed stretch); None if nothing."""
        if st is None:
            return None
        grants = st["grants"]
        if grants:
            grants[:] = [g for g in grants if g[0] > ts - self.allowed_lateness_seconds]
        open_ = st["open"]
        if open_ is not None and ts - open_[1] > self.config.incident_gap_seconds:
            st["open"] = None
        return st if grants or st["open"] is not None else None

    def _finding(self, event: AccessEvent, windows: tuple[_Window, ...], severity: Severity,
                 count: int) -> Finding:
        user, ts = event.user, event.ts
        local = list(dict.fromkeys(
            f"{datetime.fromtimestamp(ts, w[0]):%a %H:%M} {w[0].key}" for w in windows))
        checked = [w[4] for w in windows]
        target = event.resource or "(no resource)"
        env = event.environment or "(no environment)"
        why = "a destructive action" if event.action in self._destructive else "access"
        shifts = len(self._on_call.get(user, ()))
        cover = f"outside their {plural(shifts, 'on-call shift')}" if shifts else "no on-call shift"
        return Finding(
            detector=self.name,
            severity=severity,
            key_kind="user",
            key=user,
            title=f"Unscheduled access by {user} to {target}",
            explanation=(
                f"{user} did {event.action} on {target} in {env} at {utc(ts):%Y-%m-%d %H:%M} UTC "
                f"({'; '.join(local)}), {why} outside every schedule that applies "
                f"({'; '.join(checked)}), with no active elevation and {cover}"
                + (f" ({plural(count, 'off-schedule event')} in this stretch so far)."
                   if count > 1 else ".")
            ),
            incident=event.event_id,
            first_seen=ts,
            last_seen=ts,
            event_ids=(event.event_id,),
            user=user,
            source_ips=(event.source_ip,) if event.source_ip else (),
            evidence={
                "rule": "outside_schedule",
                "action": event.action,
                "resource": event.resource,
                "environment": event.environment,
                "roles": list(event.roles),
                "schedules": checked,
                "local_times": local,
                "destructive": event.action in self._destructive,
                "incident_gap_seconds": self.config.incident_gap_seconds,
            },
        )
