import json
import random
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from detectors.config import Config, DetectorsConfig, parse_config
from detectors.errors import ConfigError
from detectors.findings import Finding
from detectors.rules.unscheduled_access import UnscheduledAccess, UnscheduledAccessConfig
from detectors.testing import make_event

AMS = {"timezone": "Europe/Amsterdam", "days": ["mon-fri"], "hours": "08:00-18:00"}
NYC = {"timezone": "America/New_York", "days": ["mon-fri"], "hours": "08:00-17:00"}
ACCESS: dict[str, Any] = {"action": "view", "environment": "production",
                          "resource": "db/prod/orders", "roles": ["eng"]}


def detector(**cfg: Any) -> UnscheduledAccess:
    cfg.setdefault("role_schedules", {"eng": [AMS]})
    return UnscheduledAccess(UnscheduledAccessConfig(**cfg))


def run(det: UnscheduledAccess, *events: dict[str, Any]) -> list[Finding]:
    state: Any = None
    out: list[Finding] = []
    for fields in events:
        ev = make_event(**{**ACCESS, **fields})
        if det.accepts(ev):
            state, found = det.step(state, ev)
            state = json.loads(json.dumps(state))
            out += found
    return out


def fires(when: str, **cfg: Any) -> bool:
    return bool(run(detector(**cfg), {"timestamp": when}))


# 2026 EU switches: 29 March (CET +1 -> CEST +2) and 25 October (back to CET). 08:00 in
# Amsterdam is 07:00 UTC in winter and 06:00 UTC in summer.
@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2026-03-27T06:59:59Z", True),    # Fri before the switch: 07:59:59 CET
        ("2026-03-27T07:00:00Z", False),   # 08:00 CET, the start is inclusive
        ("2026-03-30T05:59:59Z", True),    # Mon after the switch: 07:59:59 CEST
        ("2026-03-30T06:00:00Z", False),   # 08:00 CEST: the start moved an hour earlier in UTC
        ("2026-03-30T15:59:59Z", False),   # 17:59:59 CEST
        ("2026-03-30T16:00:00Z", True),    # 18:00 CEST, the end is exclusive
        ("2026-10-23T06:00:00Z", False),   # Fri before the autumn switch: 08:00 CEST
        ("2026-10-26T06:00:00Z", True),    # Mon after it: 07:00 CET
        ("2026-10-26T07:00:00Z", False),   # 08:00 CET
        ("2026-03-28T10:00:00Z", True),    # Saturday
    ],
)
def test_amsterdam_schedule_follows_dst(when: str, expected: bool) -> None:
    assert fires(when) is expected


# US DST 2026 starts 8 March: 08:00 in New York is 13:00 UTC before, 12:00 UTC after.
@pytest.mark.parametrize(
    ("when", "expected"),
    [
        ("2026-03-06T12:59:00Z", True),    # Fri 07:59 EST
        ("2026-03-06T13:00:00Z", False),   # Fri 08:00 EST
        ("2026-03-09T11:59:00Z", True),    # Mon 07:59 EDT
        ("2026-03-09T12:00:00Z", False),   # Mon 08:00 EDT
    ],
)
def test_new_york_schedule_follows_dst(when: str, expected: bool) -> None:
    assert fires(when, role_schedules={}, user_schedules={"alice": [NYC]}) is expected


def test_any_applicable_schedule_suffices() -> None:
    # 19:00 in Amsterdam is 14:00 in New York: outside the role's, inside the user's.
    when = "2026-03-02T18:00:00Z"
    assert fires(when)
    assert not fires(when, user_schedules={"alice": [NYC]})


def test_users_without_any_schedule_are_not_checked() -> None:
    assert not fires("2026-03-28T03:00:00Z", role_schedules={"ops": [AMS]})
    # On-call shifts alone do not make a user checked.
    assert not fires("2026-03-28T03:00:00Z", role_schedules={},
                     on_call=[{"user": "alice", "start": "2026-01-01T00:00:00Z",
                               "end": "2026-01-02T00:00:00Z"}])


def test_on_call_range_covers_access_start_inclusive_end_exclusive() -> None:
    shift = [{"user": "alice", "start": "2026-03-28T00:00:00Z", "end": "2026-03-29T00:00:00Z"}]
    assert not fires("2026-03-28T00:00:00Z", on_call=shift)
    assert fires("2026-03-29T00:00:00Z", on_call=shift)
    found = run(detector(on_call=shift), {"timestamp": "2026-03-29T00:00:00Z"})
    assert "outside their 1 on-call shift" in found[0].explanation


def test_only_sensitive_environments_and_resource_patterns_are_checked() -> None:
    night = "2026-03-02T23:00:00Z"
    assert not fires(night, environments=["pci"])
    assert fires(night, environments=["pci"], resources=["db/prod/*"])
    assert not run(detector(), {"timestamp": night, "environment": "staging", "resource": "x"})
    assert not run(detector(), {"timestamp": night, "outcome": "denied"})
    assert not run(detector(), {"timestamp": night, "action": "logout"})


def test_environments_default_to_the_top_level_sensitive_environments() -> None:
    cfg = Config.model_validate({"sensitive_environments": ["prod", "pci"]})
    assert cfg.detectors.unscheduled_access.environments == ("prod", "pci")
    text = ("sensitive_environments: [prod]\n"
            "detectors:\n  unscheduled_access:\n    environments: [x]\n")
    assert parse_config(text).detectors.unscheduled_access.environments == ("x",)
    built = Config.model_validate({
        "sensitive_environments": ["pci"],
        "detectors": DetectorsConfig(unscheduled_access=UnscheduledAccessConfig())})
    assert built.detectors.unscheduled_access.environments == ("pci",)


ELEVATE = {"action": "elevate", "resource": None,
           "attributes": {"scope": "db/prod/*", "expires_at": "2026-03-02T23:30:00Z"}}


def test_active_elevation_covers_its_scope_until_it_expires() -> None:
    det = detector()
    found = run(det, {"timestamp": "2026-03-02T22:00:00Z", **ELEVATE},
                {"timestamp": "2026-03-02T23:00:00Z"},
                {"timestamp": "2026-03-02T23:00:01Z", "resource": "k8s/prod/deploy"},
                {"timestamp": "2026-03-03T01:00:00Z"})
    assert [f.evidence["resource"] for f in found] == ["k8s/prod/deploy", "db/prod/orders"]


def test_denied_or_expiry_less_elevations_grant_nothing() -> None:
    for elevate in ({**ELEVATE, "outcome": "denied"}, {**ELEVATE, "attributes": {}}):
        found = run(detector(), {"timestamp": "2026-03-02T22:00:00Z", **elevate},
                    {"timestamp": "2026-03-02T23:00:00Z"})
        assert len(found) == 1


def test_remembered_elevations_are_bounded() -> None:
    det = detector(max_grants=2)
    state: Any = None
    for i in range(5):
        ev = make_event(ts=i, **{**ACCESS, **ELEVATE})
        state, _ = det.step(state, ev)
    assert len(state["grants"]) == 2


def test_one_incident_per_off_schedule_stretch_and_one_escalation() -> None:
    found = run(detector(),
                {"timestamp": "2026-03-02T20:00:00Z"},
                {"timestamp": "2026-03-02T20:30:00Z"},
                {"timestamp": "2026-03-02T21:00:00Z", "action": "delete"},
                {"timestamp": "2026-03-02T21:10:00Z", "action": "modify"},
                {"timestamp": "2026-03-02T22:10:01Z"})  # over an hour later: a new stretch
    assert [f.severity for f in found] == ["medium", "high", "medium"]
    assert len({f.alert_id for f in found}) == 3
    assert "3 off-schedule events in this stretch" in found[1].explanation


def test_a_destructive_first_access_is_high_at_once() -> None:
    [f] = run(detector(), {"timestamp": "2026-03-02T20:00:00Z", "action": "delete"})
    assert f.severity == "high" and f.evidence["destructive"] is True


def test_explanation_gives_local_time_schedule_and_cover() -> None:
    [f] = run(detector(), {"timestamp": "2026-03-02T19:05:00Z"})
    for part in ("alice", "view", "db/prod/orders", "production", "2026-03-02 19:05 UTC",
                 "Mon 20:05 Europe/Amsterdam", "mon-fri 08:00-18:00 Europe/Amsterdam",
                 "no active elevation", "no on-call shift"):
        assert part in f.explanation
    assert (f.key_kind, f.key, f.evidence["rule"]) == ("user", "alice", "outside_schedule")


def test_state_is_dropped_once_nothing_is_open() -> None:
    det = detector()
    st, _ = det.step(None, make_event(timestamp="2026-03-02T20:00:00Z", **ACCESS))
    st, _ = det.step(st, make_event(timestamp="2026-03-03T10:00:00Z", **ACCESS))
    assert st is None


@pytest.mark.parametrize(
    ("schedule", "path", "reason"),
    [
        ({"timezone": "Europe/Amsterdm", "hours": "08:00-18:00"}, "timezone",
         "not an IANA time zone"),
        ({"timezone": "UTC", "hours": "18:00-08:00"}, "hours", "start must be before the end"),
        ({"timezone": "UTC", "hours": "08:00-24:30"}, "hours", "hours run 00:00 to 24:00"),
        ({"timezone": "UTC", "hours": "8-18"}, "hours", "not a range like '08:00-18:00'"),
        ({"timezone": "UTC", "hours": "08:00-18:00", "days": ["funday"]}, "days",
         "not a weekday"),
        ({"timezone": "UTC", "hours": "08:00-18:00", "weekdays": ["mon"]}, "weekdays",
         "unknown key"),
    ],
)
def test_schedule_errors_name_the_field(schedule: dict[str, Any], path: str,
                                        reason: str) -> None:
    data = {"detectors": {"unscheduled_access": {"role_schedules": {"eng": [schedule]}}}}
    with pytest.raises(ConfigError) as info:
        parse_config(json.dumps(data), source="s.yaml")
    [problem] = info.value.problems
    assert f"detectors.unscheduled_access.role_schedules.eng.0.{path}: " in problem
    assert reason in problem


def test_on_call_range_must_end_after_it_starts() -> None:
    data = {"detectors": {"unscheduled_access": {"on_call": [
        {"user": "bob", "start": "2026-03-02T10:00:00Z", "end": "2026-03-02T09:00:00Z"}]}}}
    with pytest.raises(ConfigError, match=r"on_call\.0: on-call range for 'bob'"):
        parse_config(json.dumps(data))


def test_wrapping_day_ranges_and_24h_end_are_accepted() -> None:
    sched = {"timezone": "UTC", "days": ["fri-mon"], "hours": "00:00-24:00"}
    assert not fires("2026-03-08T23:59:59Z", role_schedules={"eng": [sched]})  # Sunday
    assert fires("2026-03-04T12:00:00Z", role_schedules={"eng": [sched]})      # Wednesday


def test_one_detector_follows_the_switch_minute_by_minute() -> None:
    # 29 March 2026, 01:00 UTC: 02:00 CET becomes 03:00 CEST.
    sched = {"timezone": "Europe/Amsterdam", "days": ["sun"], "hours": "03:00-04:00"}
    det = detector(role_schedules={"eng": [sched]}, incident_gap_seconds=1)
    times = ["2026-03-29T00:59:00Z", "2026-03-29T00:59:59Z", "2026-03-29T01:00:00Z",
             "2026-03-29T01:59:59Z", "2026-03-29T02:00:00Z"]
    found = run(det, *({"timestamp": t} for t in times))
    assert [f.first_seen for f in found] == [
        datetime.fromisoformat(t).timestamp() for t in (times[0], times[1], times[4])]


@pytest.mark.parametrize(
    "zone", ["Europe/Amsterdam", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe",
             "America/St_Johns", "Pacific/Chatham"])
def test_cached_local_time_matches_zoneinfo(zone: str) -> None:
    det = detector()
    rng = random.Random(zone)
    start = datetime(2026, 1, 1, tzinfo=UTC).timestamp()
    stamps = sorted(start + rng.uniform(0, 365 * 86400) for _ in range(2000))
    stamps += [s + 0.5 for s in stamps[:200]]  # same minute, second lookup hits the cache
    for ts in stamps:
        local = datetime.fromtimestamp(ts, ZoneInfo(zone))
        want = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        day, sec = det._local(ZoneInfo(zone), ts)
        assert (day, sec) == pytest.approx((local.weekday(), want), abs=1e-6)


def _inside_by_zoneinfo(windows: list[dict[str, Any]], ts: float) -> bool:
    days = {"mon-fri": range(5), "sat": (5,), "sun": (6,)}
    for w in windows:
        local = datetime.fromtimestamp(ts, ZoneInfo(w["timezone"]))
        start, end = (int(h[:2]) * 3600 + int(h[3:]) * 60 for h in w["hours"].split("-"))
        sec = local.hour * 3600 + local.minute * 60 + local.second + local.microsecond / 1e6
        if local.weekday() in [d for token in w["days"] for d in days[token]] \
                and start <= sec < end:
            return True
    return False


def test_users_sharing_a_schedule_share_one_verdict_per_minute() -> None:
    windows = [AMS, {"timezone": "Asia/Tokyo", "days": ["sat"], "hours": "09:30-12:00"}]
    det = detector(role_schedules={"eng": windows}, incident_gap_seconds=0.001)
    assert det._windows("ann", ("eng",)) is det._windows("bob", ("eng",))
    rng = random.Random(5)
    start = datetime(2026, 3, 20, tzinfo=UTC).timestamp()
    stamps = sorted(start + rng.uniform(0, 14 * 86400) for _ in range(3000))
    stamps += [s + d for s in stamps[::10] for d in (-0.25, 0.5, 59.0, -61.0)]  # back and forth
    states: dict[str, Any] = {}
    for n, ts in enumerate(stamps):
        user = ("ann", "bob")[n % 2]
        ev = make_event(timestamp=datetime.fromtimestamp(ts, UTC), user=user, **ACCESS)
        states[user], found = det.step(states.get(user), ev)
        assert bool(found) is not _inside_by_zoneinfo(windows, ev.ts), ev.timestamp


def test_an_offset_with_seconds_is_decided_per_event_not_per_minute() -> None:
    # Amsterdam kept local mean time (+00:19:32) until 1909: 09:00 local is 08:40:28 UTC, so
    # one UTC minute holds both sides of the window's start.
    sched = {"timezone": "Europe/Amsterdam", "days": ["mon-fri"], "hours": "09:00-17:00"}
    det = detector(role_schedules={"eng": [sched]}, incident_gap_seconds=0.001)
    minute = "1900-01-01T08:40"  # a Monday
    found = run(det, *({"timestamp": f"{minute}:{s}Z"} for s in ("10", "40", "20", "50")))
    assert [f"{utc_seconds(f.first_seen):02d}" for f in found] == ["10", "20"]


def utc_seconds(ts: float) -> int:
    return datetime.fromtimestamp(ts, UTC).second
