"""``mfa_missing``: a successful login to a sensitive environment without MFA.

Stateless: each such login is its own incident (its event id). The sensitive environments are
the config's top-level ``sensitive_environments`` (they reach the detector through its
:class:`~detectors.base.DetectorContext`), compared case-insensitively. Service accounts
(``actor_type: service``) log in with keys, not MFA, so they are exempt unless
``include_service_accounts`` is set.
"""

from __future__ import annotations

from typing import Any

from detectors.base import Detector, DetectorConfig
from detectors.events import AccessEvent
from detectors.findings import Finding, Severity

__all__ = ["MfaMissing", "MfaMissingConfig"]


class MfaMissingConfig(DetectorConfig):
    include_service_accounts: bool = False
    severity: Severity = "high"


class MfaMissing(Detector[MfaMissingConfig]):
    """A successful login to a sensitive environment with no MFA method.

    >>> from detectors.testing import make_event
    >>> det = MfaMissing(MfaMissingConfig())
    >>> ev = make_event(environment="production", mfa=None)
    >>> det.accepts(ev), det.accepts(make_event(environment="production", mfa="totp"))
    (True, False)
    >>> state, found = det.step(None, ev)
    >>> state, found[0].severity, found[0].evidence["environment"]
    (None, 'high', 'production')
    """

    name = "mfa_missing"
    key_kind = "user"
    config_model = MfaMissingConfig
    accepts_actions = frozenset({"login"})
    accepts_outcomes = frozenset({"success"})

    def __init__(self, config: MfaMissingConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._sensitive = frozenset(e.lower() for e in self.context.sensitive_environments)

    def accepts(self, event: AccessEvent) -> bool:
        return (
            event.action == "login"
            and event.outcome == "success"
            and not event.mfa
            and event.environment is not None
            and event.environment.lower() in self._sensitive
            and (event.actor_type == "human" or self.config.include_service_accounts)
        )

    def step(self, state: Any, event: AccessEvent) -> tuple[Any, list[Finding]]:
        if not self.accepts(event):  # callers may skip accepts(); never fire on the wrong event
            return state, []
        user, env = event.user, event.environment
        ip = f" from {event.source_ip}" if event.source_ip else ""
        who = f"Service account {user}" if event.actor_type == "service" else user
        return state, [
            Finding(
                detector=self.name,
                severity=self.config.severity,
                key_kind="user",
                key=user,
                title=f"Login to {env} without MFA by {user}",
                explanation=(
                    f"{who} logged in to {env}{ip} without MFA; "
                    f"logins to {', '.join(sorted(self._sensitive))} require it."
                ),
                incident=event.event_id,
                first_seen=event.ts,
                last_seen=event.ts,
                event_ids=(event.event_id,),
                user=user,
                source_ips=(event.source_ip,) if event.source_ip else (),
                evidence={
                    "environment": env,
                    "actor_type": event.actor_type,
                    "service": event.service,
                    "sensitive_environments": sorted(self._sensitive),
                },
            )
        ]
