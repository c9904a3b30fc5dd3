"""``failure_then_success``: K failed logins, then a successful one, within T seconds.

A guessed or stuffed password that finally worked: possible compromise. Kept twice, per user
(K failures for the user, then the user's success) and per source IP (K failures from the
address, for any users, then a success from it): ``key_kinds = ("user", "source_ip")``, and
each finding carries the kind it was found under.

"Within T" is inclusive and runs from the earliest counted failure to the success. A success
closes the incident: it forgets the failures up to it, so the same failures never fire twice
and the next finding needs K new ones. The incident is the id of the first counted failure.
Failures older than the key's newest event time minus the allowed lateness are counted in
``late`` and ignored; so are failures before the key's last success.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from detectors.base import Detector, DetectorConfig
from detectors.events import AccessEvent
from detectors.findings import Finding, Severity
from detectors.text import duration, plural
from detectors.windows import expire, insert, is_late

__all__ = ["FailureThenSuccess", "FailureThenSuccessConfig"]


class FailureThenSuccessConfig(DetectorConfig):
    threshold: int = Field(
        default=5, ge=1, le=1000, description="failed logins before the success (K)"
    )
    window_seconds: float = Field(
        default=600.0,
        gt=0,
        le=86400,
        description="from the first counted failure to the success (T)",
    )
    source_ip_threshold: int | None = Field(
        default=None,
        ge=1,
        le=1000,
        description="K for the per-source-IP run (an office NAT sees many users); None: threshold",
    )
    severity: Severity = "high"


class FailureThenSuccess(Detector[FailureThenSuccessConfig]):
    """K failed logins then a success within T, per user and per source IP.

    >>> from detectors.testing import make_event
    >>> det = FailureThenSuccess(FailureThenSuccessConfig(threshold=2, window_seconds=60))
    >>> state = None
    >>> for ts, outcome in [(0, "failure"), (10, "failure"), (30, "success")]:
    ...     state, found = det.step(state, make_event(ts=ts, outcome=outcome))
    >>> found[0].key_kind, found[0].evidence["failures"], found[0].severity
    ('user', 2, 'high')
    >>> by_ip = FailureThenSuccess(det.config, kind="source_ip")
    >>> state = None
    >>> seen = [(0, "ann", "failure"), (9, "bob", "failure"), (20, "bob", "success")]
    >>> for ts, user, outcome in seen:
    ...     state, found = by_ip.step(state, make_event(ts=ts, user=user, outcome=outcome))
    >>> found[0].key, found[0].evidence["users"]
    ('203.0.113.7', ['ann', 'bob'])
    """

    name = "failure_then_success"
    key_kind = "user"
    key_kinds = ("user", "source_ip")
    config_model = FailureThenSuccessConfig
    accepts_actions = frozenset({"login"})
    accepts_outcomes = frozenset({"success", "failure"})

    def __init__(self, config: FailureThenSuccessConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        ip_k = config.source_ip_threshold
        self.threshold = ip_k if self.kind == "source_ip" and ip_k is not None else config.threshold

    def needs_state(self, action: str, outcome: str) -> bool:
        return outcome == "success"

    def step(self, state: dict[str, Any] | None, event: AccessEvent) -> tuple[Any, list[Finding]]:
        cfg = self.config
        ts = event.ts
        success = event.outcome == "success"
        if state is None:
            if success:
                return None, []  # no failures to follow up on: keep nothing
            state = {"wm": ts, "s": None, "f": []}
        st = state
        if is_late(st["wm"], ts, self.allowed_lateness_seconds):
            st["late"] = st.get("late", 0) + 1
            return st, []
        st["wm"] = max(st["wm"], ts)
        failures: list[list[Any]] = st["f"]
        if not success:
            if st["s"] is None or ts > st["s"]:
                other = event.source_ip if self.kind == "user" else event.user
                insert(failures, [ts, event.event_id, other], max_entries=2 * self.threshold)
                expire(
                    failures,
                    older_than=st["wm"] - cfg.window_seconds - self.allowed_lateness_seconds,
                )
            return st, []
        run = [f for f in failures if ts - cfg.window_seconds <= f[0] <= ts]
        st["f"] = [f for f in failures if f[0] > ts]
        st["s"] = ts if st["s"] is None else max(st["s"], ts)
        found = [self._finding(event, run)] if len(run) >= self.threshold else []
        return (st if st["f"] else None), found

    def _finding(self, event: AccessEvent, run: list[list[Any]]) -> Finding:
        cfg = self.config
        first, ts = run[0][0], event.ts
        others = list(dict.fromkeys(o for _, _, o in run if o))
        rule = (
            f"threshold: {plural(self.threshold, 'failure')} then a success within "
            f"{duration(cfg.window_seconds)}"
        )
        evidence: dict[str, Any] = {
            "failures": len(run),
            "threshold": self.threshold,
            "window_seconds": cfg.window_seconds,
            "span_seconds": round(ts - first, 3),
            "success_event_id": event.event_id,
        }
        if self.kind == "user":
            key = event.user
            ips = tuple(dict.fromkeys([*others, *([event.source_ip] if event.source_ip else [])]))
            where = f" from {event.source_ip}" if event.source_ip else ""
            title = f"Login after repeated failures for {key}"
            text = (
                f"{key} logged in{where} after failing {plural(len(run), 'time')} within "
                f"{duration(ts - first)}"
            )
            if others and others != [event.source_ip]:
                text += f" (failures from {', '.join(others[:5])})"
            evidence["source_ips"] = list(ips[:20])
        else:
            key = event.source_ip or ""
            ips = (key,)
            users = list(dict.fromkeys([*others, event.user]))
            title = f"Login after repeated failures from {key}"
            text = (
                f"A login from {key} as {event.user} succeeded after "
                f"{plural(len(run), 'failed login')} from that address within "
                f"{duration(ts - first)} (against {', '.join(others[:5])})"
            )
            evidence["users"] = users[:20]
        return Finding(
            detector=self.name,
            severity=cfg.severity,
            key_kind=self.kind,
            key=key,
            title=title,
            explanation=f"{text} ({rule}): possible compromise.",
            incident=run[0][1],
            first_seen=first,
            last_seen=ts,
            event_ids=(*(eid for _, eid, _ in run), event.event_id),
            user=event.user,
            source_ips=ips,
            evidence=evidence,
        )
