"""``elevation_abuse``: elevations that break the rules of the elevation process.

A successful ``elevate`` event grants its scope (``attributes.scope``, else its resource, else
its environment; see :func:`detectors.policy.grant_scope`) from the event time until
``attributes.expires_at`` (RFC 3339), approved by ``attributes.approved_by`` under
``attributes.ticket``. Four sub-rules, each its own finding, named in ``evidence["rule"]``:

- ``too_long``: the requested duration (expires_at minus the event time) is over
  ``max_duration_seconds``; a missing or unreadable ``expires_at`` is an open-ended grant and
  counts as too long.
- ``self_approved``: ``approved_by`` is the user who elevated.
- ``missing_ticket``: ``require_ticket`` is on and the ticket is missing, or does not fully
  match ``ticket_pattern`` when one is set.
- ``expired_use``: a successful action (not in ``exempt_actions``) by the same user on a scope
  whose grant expired less than ``expired_use_horizon_seconds`` ago, with no active grant
  covering it. Fires once per expired grant.

The first three are decided at the elevate event (incident: the elevate event id and the rule).
A user's state keeps the newest ``max_grants`` grants until their horizon passes.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import Field, field_validator

from detectors.base import Detector, DetectorConfig
from detectors.events import AccessEvent
from detectors.findings import Finding, Severity, utc
from detectors.policy import attribute_time, grant_scope, scope_covers
from detectors.text import duration

__all__ = ["ElevationAbuse", "ElevationAbuseConfig"]


class ElevationAbuseConfig(DetectorConfig):
    enabled: bool = False  # needs a site's elevation policy
    severity: Severity = "high"
    max_duration_seconds: float = Field(
        default=4 * 3600.0, gt=0, le=30 * 86400,
        description="longest elevation that may be requested",
    )
    require_ticket: bool = Field(default=True, description="every elevation must name a ticket")
    ticket_pattern: str | None = Field(
        default=None, description="regex a ticket must fully match, e.g. '(CHG|INC)-[0-9]+'"
    )
    expired_use_horizon_seconds: float = Field(
        default=7 * 86400.0, gt=0, le=90 * 86400,
        description="how long after a grant expired its scope is still watched",
    )
    exempt_actions: tuple[str, ...] = Field(
        default=("login", "logout", "mfa", "elevate", "token_use"),
        description="actions that are not uses of an elevated scope",
    )
    max_grants: int = Field(default=16, ge=1, le=256, description="grants remembered per user")

    @field_validator("ticket_pattern")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"{value!r} is not a valid regular expression: {exc}") from None
        return value


class ElevationAbuse(Detector[ElevationAbuseConfig]):
    """Elevations that are too long, self-approved, without a ticket, or used after expiry.

    >>> from detectors.testing import make_event
    >>> det = ElevationAbuse(ElevationAbuseConfig())
    >>> ev = make_event(action="elevate", resource="db/prod/*", attributes={
    ...     "expires_at": "2026-03-02T10:00:00Z", "approved_by": "alice", "ticket": "CHG-1"})
    >>> st, found = det.step(None, ev)
    >>> [f.evidence["rule"] for f in found]
    ['self_approved']
    >>> st, found = det.step(st, make_event(ts=7200, action="delete", resource="db/prod/x"))
    >>> [f.evidence["rule"] for f in found]
    ['expired_use']
    """

    name = "elevation_abuse"
    key_kind = "user"
    config_model = ElevationAbuseConfig
    accepts_outcomes = frozenset({"success"})

    def __init__(self, config: ElevationAbuseConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._exempt = frozenset(config.exempt_actions)
        self._ticket = re.compile(config.ticket_pattern) if config.ticket_pattern else None

    def admits(self, action: str, outcome: str) -> bool:
        return outcome == "success" and (action == "elevate" or action not in self._exempt)

    def needs_state(self, action: str, outcome: str) -> bool:
        return action != "elevate"

    def step(self, state: list[list[Any]] | None, event: AccessEvent
             ) -> tuple[Any, list[Finding]]:
        if state is None and event.action != "elevate":
            return None, []  # the common case: nothing granted, nothing to check
        grants = state if state is not None else []
        ts = event.ts
        horizon = self.config.expired_use_horizon_seconds
        grants[:] = [g for g in grants if g[1] is None or ts - g[1] < horizon]
        if event.action == "elevate":
            found = self._check_request(event, grants)
        else:
            found = self._check_use(event, grants)
        return (grants or None), found

    def _check_request(self, event: AccessEvent, grants: list[list[Any]]) -> list[Finding]:
        cfg, ts, attrs = self.config, event.ts, event.attributes
        expires = attribute_time(event, "expires_at")
        scope = grant_scope(event)
        # [start, expires or None, scope, elevate event id, expired use reported]
        grants.append([ts, expires, scope, event.event_id, False])
        grants.sort(key=lambda g: g[0])
        del grants[: max(0, len(grants) - cfg.max_grants)]
        found = []
        if expires is None:
            found.append(self._finding(event, "too_long", scope, (
                f"with no readable expiry (expires_at: {attrs.get('expires_at')!r}), an "
                f"open-ended grant; the maximum is {duration(cfg.max_duration_seconds)}"),
                {"expires_at": None, "max_duration_seconds": cfg.max_duration_seconds}))
        elif expires - ts > cfg.max_duration_seconds:
            found.append(self._finding(event, "too_long", scope, (
                f"for {duration(expires - ts)} (until {utc(expires):%Y-%m-%d %H:%M} UTC), over "
                f"the maximum of {duration(cfg.max_duration_seconds)}"),
                {"duration_seconds": expires - ts,
                 "max_duration_seconds": cfg.max_duration_seconds}))
        approver = attrs.get("approved_by")
        if isinstance(approver, str) and approver.strip() == event.user:
            found.append(self._finding(event, "self_approved", scope,
                                       "and approved it themselves", {"approved_by": approver}))
        if cfg.require_ticket:
            ticket = attrs.get("ticket")
            if not isinstance(ticket, str) or not ticket.strip():
                found.append(self._finding(event, "missing_ticket", scope,
                                           "without a ticket, which the policy requires",
                                           {"ticket": None}))
            elif self._ticket is not None and not self._ticket.fullmatch(ticket.strip()):
                found.append(self._finding(event, "missing_ticket", scope, (
                    f"with ticket {ticket.strip()!r}, which does not match the required "
                    f"pattern {cfg.ticket_pattern!r}"),
                    {"ticket": ticket.strip(), "ticket_pattern": cfg.ticket_pattern}))
        return found

    def _check_use(self, event: AccessEvent, grants: list[list[Any]]) -> list[Finding]:
        ts = event.ts
        covering = [g for g in grants if g[0] <= ts and scope_covers(g[2], event)]
        if not covering or any(g[1] is None or ts < g[1] for g in covering):
            return []
        expired = max(covering, key=lambda g: g[1])
        if expired[4]:
            return []
        expired[4] = True
        return [self._finding(event, "expired_use", expired[2], (
            f"{event.action} on {event.resource or event.environment or '(no resource)'} "
            f"{duration(ts - expired[1])} after the elevation {expired[3]} for that scope "
            f"expired at {utc(expired[1]):%Y-%m-%d %H:%M} UTC"),
            {"grant_event_id": expired[3], "expired_at": utc(expired[1]).isoformat(),
             "action": event.action, "resource": event.resource,
             "environment": event.environment,
             "horizon_seconds": self.config.expired_use_horizon_seconds},
            incident=f"{expired[3]}:expired_use", opened_by=expired[3])]

    def _finding(self, event: AccessEvent, rule: str, scope: str, what: str,
                 evidence: dict[str, Any], *, incident: str | None = None,
                 opened_by: str | None = None) -> Finding:
        user, ts = event.user, event.ts
        if rule == "expired_use":
            sentence = f"{user} did {what}."
        else:
            ticket = event.attributes.get("ticket")
            sentence = (f"{user} elevated to scope {scope!r} {what}"
                        f"{f' (ticket {ticket})' if ticket and rule != 'missing_ticket' else ''}.")
        titles = {"too_long": "Over-long elevation", "self_approved": "Self-approved elevation",
                  "missing_ticket": "Elevation without a valid ticket",
                  "expired_use": "Use of an expired elevation"}
        ids = (opened_by, event.event_id) if opened_by else (event.event_id,)
        return Finding(
            detector=self.name,
            severity=self.config.severity,
            key_kind="user",
            key=user,
            title=f"{titles[rule]} by {user}",
            explanation=f"{sentence[:-1]} (rule {rule}).",
            incident=incident or f"{event.event_id}:{rule}",
            first_seen=ts,
            last_seen=ts,
            event_ids=ids,
            user=user,
            source_ips=(event.source_ip,) if event.source_ip else (),
            evidence={"rule": rule, "scope": scope, **evidence},
        )
