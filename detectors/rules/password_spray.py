"""``password_spray``: failed logins from one source IP against M distinct users within T.

Kept per source IP. Each user counts once, at their most recent failure from that IP, so a
burst against one account (``failed_login_burst``'s concern) is not a spray. Incident
semantics as in ``failed_login_burst``: fires once; failures less than T apart keep the
incident open; a quieter gap closes it. Late failures (beyond the allowed lateness) are
counted in ``late`` and ignored.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from detectors.base import Detector, DetectorConfig
from detectors.events import AccessEvent
from detectors.findings import Finding, Severity
from detectors.text import duration
from detectors.windows import expire, first_span, insert, is_late

__all__ = ["PasswordSpray", "PasswordSprayConfig"]

#: How many user names a finding lists.
MAX_LISTED_USERS = 20


class PasswordSprayConfig(DetectorConfig):
    threshold: int = Field(
        default=10, ge=2, le=1000, description="distinct users failed against (M)"
    )
    window_seconds: float = Field(
        default=1800.0, gt=0, le=86400, description="span they must fit in (T)"
    )
    severity: Severity = "high"


class PasswordSpray(Detector[PasswordSprayConfig]):
    """Failed logins from one source IP against M distinct users within T seconds.

    >>> from detectors.testing import make_event
    >>> det = PasswordSpray(PasswordSprayConfig(threshold=2, window_seconds=60))
    >>> state, found = det.step(None, make_event(ts=0, user="ann", outcome="failure"))
    >>> state, found = det.step(state, make_event(ts=5, user="ann", outcome="failure"))
    >>> state, found = det.step(state, make_event(ts=9, user="bob", outcome="failure"))
    >>> found[0].key, found[0].evidence["distinct_users"], found[0].evidence["users"]
    ('203.0.113.7', 2, ['ann', 'bob'])
    """

    name = "password_spray"
    key_kind = "source_ip"
    config_model = PasswordSprayConfig
    accepts_actions = frozenset({"login"})
    accepts_outcomes = frozenset({"failure"})

    def step(self, state: dict[str, Any] | None, event: AccessEvent) -> tuple[Any, list[Finding]]:
        cfg = self.config
        ts = event.ts
        st = state if state is not None else {"wm": ts, "u": [], "open": None}
        if is_late(st["wm"], ts, self.allowed_lateness_seconds):
            st["late"] = st.get("late", 0) + 1
            return st, []
        st["wm"] = max(st["wm"], ts)
        open_ = st["open"]
        if open_ is not None:
            if ts - open_[1] <= cfg.window_seconds:  # the spray goes on
                open_[1] = max(open_[1], ts)
                open_[2] += 1
                return st, []
            st["open"] = None
        entries: list[list[Any]] = st["u"]
        for i, (seen_ts, _, user) in enumerate(entries):
            if user == event.user:
                if seen_ts >= ts:
                    return st, []  # this user already counts at a later failure
                del entries[i]
                break
        entry = [ts, event.event_id, event.user]
        insert(entries, entry, max_entries=2 * cfg.threshold)
        expire(entries, older_than=st["wm"] - cfg.window_seconds - self.allowed_lateness_seconds)
        if entry not in entries:
            return st, []
        span = first_span(
            entries,
            count=cfg.threshold,
            span_seconds=cfg.window_seconds,
            containing=entries.index(entry),
        )
        if span is None:
            return st, []
        spray = entries[span[0] : span[1] + 1]
        st["open"] = [spray[0][1], spray[-1][0], len(spray)]
        st["u"] = []
        return st, [self._finding(event.source_ip or "", spray)]

    def _finding(self, ip: str, spray: list[list[Any]]) -> Finding:
        cfg = self.config
        first, last = spray[0][0], spray[-1][0]
        users = [u for _, _, u in spray]
        listed = ", ".join(users[:5]) + (f" and {len(users) - 5} more" if len(users) > 5 else "")
        return Finding(
            detector=self.name,
            severity=cfg.severity,
            key_kind="source_ip",
            key=ip,
            title=f"Password spray from {ip}",
            explanation=(
                f"{ip} failed to log in as {len(users)} different users within "
                f"{duration(last - first)} ({listed}) "
                f"(threshold: {cfg.threshold} distinct users within "
                f"{duration(cfg.window_seconds)})."
            ),
            incident=spray[0][1],
            first_seen=first,
            last_seen=last,
            event_ids=tuple(eid for _, eid, _ in spray),
            source_ips=(ip,),
            evidence={
                "distinct_users": len(users),
                "users": users[:MAX_LISTED_USERS],
                "threshold": cfg.threshold,
                "window_seconds": cfg.window_seconds,
                "span_seconds": round(last - first, 3),
            },
        )
