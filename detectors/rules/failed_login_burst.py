"""``failed_login_burst``: N failed logins for one user within T seconds.

Fires once per incident. An incident stays open while failures keep coming less than
``window_seconds`` apart; a quiet gap longer than that closes it, and the next burst is a new
incident (with a new alert id). "Within T" is inclusive: the N-th failure may come exactly T
seconds after the first. Failures older than the user's newest event time minus the allowed
lateness are ignored (counted in ``late``); later ones are placed in event-time order.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from detectors.base import Detector, DetectorConfig
from detectors.bursts import burst_evidence, fold_burst, new_state
from detectors.events import AccessEvent
from detectors.findings import Finding, Severity
from detectors.text import duration, plural

__all__ = ["FailedLoginBurst", "FailedLoginBurstConfig"]


class FailedLoginBurstConfig(DetectorConfig):
    threshold: int = Field(5, ge=2, le=1000, description="failed logins that make a burst (N)")
    window_seconds: float = Field(300.0, gt=0, le=86400, description="span they must fit in (T)")
    severity: Severity = "high"


class FailedLoginBurst(Detector[FailedLoginBurstConfig]):
    """N failed logins for one user within T seconds.

    >>> from detectors.testing import make_event
    >>> det = FailedLoginBurst(FailedLoginBurstConfig(threshold=2, window_seconds=60))
    >>> state, found = det.step(None, make_event(ts=0, outcome="failure"))
    >>> state, found = det.step(state, make_event(ts=30, outcome="failure"))
    >>> found[0].evidence["count"], found[0].severity
    (2, 'high')
    """

    name = "failed_login_burst"
    key_kind = "user"
    config_model = FailedLoginBurstConfig
    accepts_actions = frozenset({"login"})
    accepts_outcomes = frozenset({"failure"})

    def step(self, state: dict[str, Any] | None, event: AccessEvent) -> tuple[Any, list[Finding]]:
        cfg = self.config
        st = state if state is not None else new_state(event.ts)
        burst = fold_burst(
            st, [event.ts, event.event_id, event.source_ip], threshold=cfg.threshold,
            window_seconds=cfg.window_seconds, lateness=self.allowed_lateness_seconds,
            max_entries=4 * cfg.threshold,
        )
        if burst is None:
            return st, []
        return st, [self._finding(event.user, burst)]

    def _finding(self, user: str, burst: list[list[Any]]) -> Finding:
        cfg = self.config
        first, last = burst[0][0], burst[-1][0]
        ips = tuple(dict.fromkeys(ip for _, _, ip in burst if ip))
        more = f" and {len(ips) - 5} more" if len(ips) > 5 else ""
        where = f" from {', '.join(ips[:5])}{more}"
        return Finding(
            detector=self.name,
            severity=cfg.severity,
            key_kind="user",
            key=user,
            title=f"Failed-login burst for {user}",
            explanation=(
                f"{user} failed to log in {plural(len(burst), 'time')} within "
                f"{duration(last - first)}{where if ips else ''} "
                f"(threshold: {cfg.threshold} within {duration(cfg.window_seconds)})."
            ),
            incident=burst[0][1],
            first_seen=first,
            last_seen=last,
            event_ids=tuple(eid for _, eid, _ in burst),
            user=user,
            source_ips=ips,
            evidence=burst_evidence(burst, threshold=cfg.threshold,
                                    window_seconds=cfg.window_seconds),
        )
