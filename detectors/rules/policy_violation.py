"""``policy_violation``: a successful action that no role of the principal allows.

The RBAC policy maps each role to permissions: actions (or ``*``) on resource globs,
optionally limited to environments. A successful action is allowed when any permission of any
of the event's roles covers its action, resource and environment; otherwise the system let
through what the policy forbids, and each such event is its own incident (incident = event id).

Decisions, all documented in the config reference:

- Only ``success`` counts: ``denied`` means the access system already enforced the policy.
- Actions in ``exempt_actions`` (by default session and credential plumbing such as login,
  logout, mfa, elevate, token_use) are not resource actions and are never checked.
- A role the policy does not name grants nothing (fail closed); it is listed in the evidence
  as ``unknown_roles`` so a gap in the policy is easy to spot.
- An event without roles cannot be justified by the policy: it fires when
  ``missing_roles: flag`` (the default) and is skipped when ``missing_roles: skip``, for sites
  whose producers do not send roles.
- A missing resource is matched as the empty string: only ``*`` covers it.
- A permission without ``environments`` applies in every environment, and to events without
  one; with ``environments`` it applies only to events naming one of them.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from detectors.base import Detector, DetectorConfig
from detectors.events import AccessEvent
from detectors.findings import Finding, Severity
from detectors.policy import Glob, Matcher, compile_globs

__all__ = ["Permission", "PolicyViolation", "PolicyViolationConfig"]

#: Cached decisions per detector; cleared when full (decisions repeat a lot).
_MEMO_SIZE = 4096


class Permission(BaseModel):
    """Actions a role may perform on matching resources, optionally only in some environments."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    actions: tuple[str, ...] = Field(
           min_length=1, description="action words this grants, or '*' for any action"
    )
    resources: tuple[Glob, ...] = Field(
        default=("*",), description="resource globs, e.g. 'db/prod/*'; '*' is any resource"
    )
    environments: tuple[str, ...] | None = Field(
        default=None, description="environments this applies in; omitted: every environment"
    )

    @field_validator("resources")
    @classmethod
    def _some(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        if not value:  # checked here, not with min_length, so a bad glob is reported once
            raise ValueError("list at least one resource pattern ('*' for any)")
        return value


class PolicyViolationConfig(DetectorConfig):
    enabled: bool = False  # needs a site's policy
    severity: Severity = "high"
    roles: dict[str, tuple[Permission, ...]] = Field(
           default_factory=dict, description="RBAC policy: role name -> list of permissions"
    )
    exempt_actions: tuple[str, ...] = Field(
        default=("login", "logout", "mfa", "elevate", "token_use"),
        description="actions that are not resource actions and are never checked",
    )
    missing_roles: Literal["flag", "skip"] = Field(
        default="flag", description="an event without roles: flag it (fail closed) or skip it"
    )


_Compiled = tuple[frozenset[str] | None, Matcher, frozenset[str] | None]


class PolicyViolation(Detector[PolicyViolationConfig]):
    """A successful action that no role of the principal allows.

    >>> from detectors.testing import make_event
    >>> cfg = PolicyViolationConfig(roles={"analyst": [{"actions": ["view"]}]})
    >>> det = PolicyViolation(cfg)
    >>> det.step(None, make_event(action="view", resource="s3/x", roles=["analyst"]))
    (None, [])
    >>> _, found = det.step(None, make_event(action="delete", resource="s3/x", roles=["analyst"]))
    >>> found[0].severity, found[0].evidence["rule"]
    ('high', 'no_role_allows')
    """

    name = "policy_violation"
    key_kind = "user"
    config_model = PolicyViolationConfig
    accepts_outcomes = frozenset({"success"})

    def __init__(self, config: PolicyViolationConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        self._exempt = frozenset(config.exempt_actions)
        self._roles: dict[str, list[_Compiled]] = {
            role: [
                (
                    None if "*" in p.actions else frozenset(p.actions),
                    compile_globs(p.resources),
                    None if p.environments is None else frozenset(p.environments),
                )
                for p in perms
            ]
            for role, perms in config.roles.items()
        }
        self._memo: dict[tuple[Any, ...], bool] = {}

    def admits(self, action: str, outcome: str) -> bool:
        return outcome == "success" and action not in self._exempt

    def step(self, state: Any, event: AccessEvent) -> tuple[Any, list[Finding]]:
        roles = event.roles
        if not roles and self.config.missing_roles == "skip":
            return None, []
        resource = event.resource or ""
        allowed = self._memo.get((roles, event.action, resource, event.environment))
        if allowed is None:  # the memo's hit inlined: this runs for most events
            allowed = self._allowed(roles, event.action, resource, event.environment)
        return None, ([] if allowed else [self._finding(event)])

    def _allowed(self, roles: tuple[str, ...], action: str, resource: str, env: str | None
                 ) -> bool:
        key = (roles, action, resource, env)
        hit = self._memo.get(key)
        if hit is not None:
            return hit
        allowed = any(
            (acts is None or action in acts)
            and (envs is None or env in envs)
            and match(resource) is not None
            for role in roles
            for acts, match, envs in self._roles.get(role, ())
        )
        if len(self._memo) >= _MEMO_SIZE:
            self._memo.clear()
        self._memo[key] = allowed
        return allowed

    def _finding(self, event: AccessEvent) -> Finding:
        user, roles = event.user, event.roles
        unknown = [r for r in roles if r not in self._roles]
        target = event.resource or "(no resource)"
        env = event.environment or "(no environment)"
        if roles:
            who = f"with roles {', '.join(roles)}"
            if unknown:
                who += f" ({', '.join(unknown)} not in the policy)"
        else:
            who = "with no roles on the event"
        return Finding(
            detector=self.name,
            severity=self.config.severity,
            key_kind="user",
            key=user,
            title=f"Policy violation: {user} {event.action} {target}",
            explanation=(
                f"{user} {who} was allowed to {event.action} {target} in {env}, but no rule of "
                f"the RBAC policy allows {event.action} on that resource in that environment "
                f"for {'those roles' if roles else 'a principal without roles'}."
            ),
            incident=event.event_id,
            first_seen=event.ts,
            last_seen=event.ts,
            event_ids=(event.event_id,),
            user=user,
            source_ips=(event.source_ip,) if event.source_ip else (),
            evidence={
                "rule": "no_role_allows",
                "action": event.action,
                "resource": event.resource,
                "environment": event.environment,
                "roles": list(roles),
                "unknown_roles": unknown,
            },
        )
