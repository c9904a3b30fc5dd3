"""``mfa_fatigue``: a storm of rejected MFA prompts, and the user giving in to it.

N failed or denied MFA prompts (action ``mfa``) for one user within T seconds is a burst
(severity ``severity``, high by default), with the incident semantics of
``failed_login_burst`` (see :mod:`detectors.bursts`). A successful MFA at most T seconds after
the burst's latest prompt is a separate finding (``gave_in_severity``, critical by default):
the user likely approved the attacker's prompt. It fires once per burst; its incident is the
id of the successful MFA event.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from detectors.base import Detector, DetectorConfig
from detectors.bursts import burst_evidence, fold_burst, new_state
from detectors.events import AccessEvent
from detectors.findings import Finding, Severity
from detectors.text import duration, plural
from detectors.windows import is_late

__all__ = ["MfaFatigue", "MfaFatigueConfig"]


class MfaFatigueConfig(DetectorConfig):
    threshold: int = Field(
        default=5, ge=2, le=1000, description="rejected MFA prompts in a burst (N)"
    )
    window_seconds: float = Field(
        default=600.0, gt=0, le=86400, description="span they must fit in (T)"
    )
    severity: Severity = "high"
    gave_in_severity: Severity = "critical"


class MfaFatigue(Detector[MfaFatigueConfig]):
    """N rejected MFA prompts within T seconds; a success right after them is critical.

    >>> from detectors.testing import make_event
    >>> det = MfaFatigue(MfaFatigueConfig(threshold=2, window_seconds=60))
    >>> state, found = det.step(None, make_event(ts=0, action="mfa", outcome="failure"))
    >>> state, found = det.step(state, make_event(ts=20, action="mfa", outcome="denied"))
    >>> found[0].severity, found[0].evidence["count"]
    ('high', 2)
    >>> state, found = det.step(state, make_event(ts=50, action="mfa", outcome="success"))
    >>> found[0].severity, found[0].evidence["seconds_after_last_prompt"]
    ('critical', 30.0)
    """

    name = "mfa_fatigue"
    key_kind = "user"
    config_model = MfaFatigueConfig
    accepts_actions = frozenset({"mfa"})

    def needs_state(self, action: str, outcome: str) -> bool:
        return outcome == "success"

    def step(self, state: dict[str, Any] | None, event: AccessEvent) -> tuple[Any, list[Finding]]:
        cfg = self.config
        ts = event.ts
        if event.outcome == "success":
            if state is None:
                return None, []  # nothing to give in to; keep no state for it
            return state, self._gave_in(state, event)
        st = state if state is not None else new_state(ts)
        burst = fold_burst(
            st,
            [ts, event.event_id, event.source_ip],
            threshold=cfg.threshold,
            window_seconds=cfg.window_seconds,
            lateness=self.allowed_lateness_seconds,
        )
        if burst is None:
            return st, []
        st["b0"] = burst[0][0]
        return st, [self._burst_finding(event.user, burst)]

    def _gave_in(self, st: dict[str, Any], event: AccessEvent) -> list[Finding]:
        cfg = self.config
        ts = event.ts
        if is_late(st["wm"], ts, self.allowed_lateness_seconds):
            st["late"] = st.get("late", 0) + 1
            return []
        st["wm"] = max(st["wm"], ts)
        open_ = st["open"]
        if open_ is None or st.get("gi") == open_[0]:
            return []
        opener, last, count = open_
        if not (st["b0"] <= ts and ts - last <= cfg.window_seconds):
            return []
        st["gi"] = opener
        user = event.user
        after = ts - last
        ip = f" from {event.source_ip}" if event.source_ip else ""
        return [
            Finding(
                detector=self.name,
                severity=cfg.gave_in_severity,
                key_kind="user",
                key=user,
                title=f"{user} approved MFA during a prompt storm",
                explanation=(
                    f"{user} passed MFA{ip} {duration(max(after, 0.0))} after "
                    f"{plural(count, 'rejected prompt')} (burst threshold: {cfg.threshold} within "
                    f"{duration(cfg.window_seconds)}): the user likely gave in to MFA fatigue."
                ),
                incident=event.event_id,
                first_seen=st["b0"],
                last_seen=ts,
                event_ids=(opener, event.event_id),
                user=user,
                source_ips=(event.source_ip,) if event.source_ip else (),
                evidence={
                    "rejected_prompts": count,
                    "threshold": cfg.threshold,
                    "window_seconds": cfg.window_seconds,
                    "seconds_after_last_prompt": round(after, 3),
                    "burst_incident": opener,
                    "mfa": event.mfa,
                },
            )
        ]

    def _burst_finding(self, user: str, burst: list[list[Any]]) -> Finding:
        cfg = self.config
        first, last = burst[0][0], burst[-1][0]
        ips = tuple(dict.fromkeys(ip for _, _, ip in burst if ip))
        where = f" from {', '.join(ips[:5])}" if ips else ""
        return Finding(
            detector=self.name,
            severity=cfg.severity,
            key_kind="user",
            key=user,
            title=f"MFA prompt storm for {user}",
            explanation=(
                f"{user} rejected or failed {plural(len(burst), 'MFA prompt')} within "
                f"{duration(last - first)}{where} "
                f"(threshold: {cfg.threshold} within {duration(cfg.window_seconds)})."
            ),
            incident=burst[0][1],
            first_seen=first,
            last_seen=last,
            event_ids=tuple(e[1] for e in burst),
            user=user,
            source_ips=ips,
            evidence=burst_evidence(burst, threshold=cfg.threshold,
                                    window_seconds=cfg.window_seconds),
        )
