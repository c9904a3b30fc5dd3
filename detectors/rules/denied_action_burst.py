"""``denied_action_burst``: N denied actions for one user within T seconds.

Any action counts when its outcome is ``denied`` (authorised no): someone probing what they
may touch. Incident semantics as in ``failed_login_burst`` (see :mod:`detectors.bursts`).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

from pydantic import Field

from detectors.base import Detector, DetectorConfig
from detectors.bursts import burst_evidence, fold_burst, new_state
from detectors.events import AccessEvent
from detectors.findings import Finding, Severity
from detectors.text import duration, plural

__all__ = ["DeniedActionBurst", "DeniedActionBurstConfig"]


class DeniedActionBurstConfig(DetectorConfig):
    threshold: int = Field(
        default=5, ge=2, le=1000, description="denied actions that make a burst (N)"
    )
    window_seconds: float = Field(
        default=600.0, gt=0, le=86400, description="span they must fit in (T)"
    )
    severity: Severity = "medium"


class DeniedActionBurst(Detector[DeniedActionBurstConfig]):
    """N denied actions (any action) for one user within T seconds.

    >>> from detectors.testing import make_event
    >>> det = DeniedActionBurst(DeniedActionBurstConfig(threshold=2, window_seconds=60))
    >>> state, found = det.step(None, make_event(ts=0, action="view", outcome="denied"))
    >>> state, found = det.step(state, make_event(ts=60, action="delete", outcome="denied"))
    >>> found[0].evidence["count"], found[0].evidence["actions"], found[0].severity
    (2, {'view': 1, 'delete': 1}, 'medium')
    """

    name = "denied_action_burst"
    key_kind = "user"
    config_model = DeniedActionBurstConfig
    accepts_outcomes = frozenset({"denied"})

    def step(self, state: dict[str, Any] | None, event: AccessEvent) -> tuple[Any, list[Finding]]:
        cfg = self.config
        st = state if state is not None else new_state(event.ts)
        # Resources are cut short: state stays small whatever the producer sends.
        res = event.resource[:64] if event.resource else None
        entry = [event.ts, event.event_id, event.action, res, event.source_ip]
        burst = fold_burst(
            st,
            entry,
            threshold=cfg.threshold,
            window_seconds=cfg.window_seconds,
            lateness=self.allowed_lateness_seconds,
        )
        return st, [] if burst is None else [self._finding(event.user, burst)]

    def _finding(self, user: str, burst: list[list[Any]]) -> Finding:
        cfg = self.config
        first, last = burst[0][0], burst[-1][0]
        actions = Counter(e[2] for e in burst)
        resources = tuple(dict.fromkeys(e[3] for e in burst if e[3]))
        ips = tuple(dict.fromkeys(e[4] for e in burst if e[4]))
        what = ", ".join(f"{a} x{n}" for a, n in actions.most_common(5))
        on = (
            f" on {', '.join(resources[:3])}"
            + (f" and {len(resources) - 3} more" if len(resources) > 3 else "")
            if resources
            else ""
        )
        return Finding(
            detector=self.name,
            severity=cfg.severity,
            key_kind="user",
            key=user,
            title=f"Burst of denied actions for {user}",
            explanation=(
                f"{user} was denied {plural(len(burst), 'time')} within "
                f"{duration(last - first)} ({what}){on} "
                f"(threshold: {cfg.threshold} within {duration(cfg.window_seconds)})."
            ),
            incident=burst[0][1],
            first_seen=first,
            last_seen=last,
            event_ids=tuple(e[1] for e in burst),
            user=user,
            source_ips=ips,
            evidence={
                **burst_evidence(burst, threshold=cfg.threshold,
                                 window_seconds=cfg.window_seconds),
                "actions": dict(actions),
                "resources": list(resources[:10]),
            },
        )
