"""``credential_hygiene``: a key or token used when it should not be, kept per credential id.

State is kept per ``credential_id`` (never the secret; alerts carry only the id). Lifecycle
events (successful ``key_create``, ``key_rotate``, ``key_revoke`` carrying the id) start a new
key version or revoke it. A *use* is any other successful event carrying the id (``token_use``,
``view``, ...); failed and denied attempts are not uses, the system refused them.

At each use four sub-rules are checked, each named in ``evidence["rule"]``:

- ``revoked``: the credential was revoked and has not been re-created or rotated since
  (``revoked_severity``, critical by default).
- ``stale``: idle for more than ``stale_days`` since its last use (or since its current
  version was created if unused since). The use ends the idle stretch, so it fires once.
- ``new_principal``: used by someone other than its owner: ``attributes.owner`` of the last
  ``key_create``/``key_rotate`` if given, else the first principal seen using it
  (``new_principal_severity``, high by default). Fires once per other principal and key version.
- ``unrotated``: the current key version is older than ``max_key_age_days``. Its age is
  known only from a ``key_create``/``key_rotate`` event; fires once per key version.

``stale`` and ``unrotated`` use ``severity`` (medium by default). Each finding's incident is
the event that opened it, so a condition that persists is not paged on every use: it pages
again only after it changed (a rotation, a new revocation, a new idle stretch).
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from detectors.base import Detector, DetectorConfig
from detectors.events import AccessEvent
from detectors.findings import Finding, Severity, utc
from detectors.text import duration

__all__ = ["CredentialHygiene", "CredentialHygieneConfig"]

DAY = 86400.0
_LIFECYCLE = frozenset({"key_create", "key_rotate", "key_revoke"})
#: Other principals remembered (as reported) per key version.
_MAX_PRINCIPALS = 16


def _days(seconds: float) -> str:
    return f"{seconds / DAY:.1f} days" if seconds >= DAY else duration(seconds)


class CredentialHygieneConfig(DetectorConfig):
    enabled: bool = False  # stale/rotation limits are a site's policy
    severity: Severity = "medium"
    stale_days: float = Field(
        default=90.0, gt=0, le=3650, description="idle longer than this is stale")
    max_key_age_days: float = Field(
        default=180.0, gt=0, le=3650,
        description="a key version older than this should have been rotated",
    )
    new_principal_severity: Severity = "high"
    revoked_severity: Severity = "critical"


class CredentialHygiene(Detector[CredentialHygieneConfig]):
    """Use of a revoked, stale, unrotated or borrowed credential.

    >>> from detectors.testing import make_event
    >>> det = CredentialHygiene(CredentialHygieneConfig())
    >>> st, _ = det.step(None, make_event(user="svc", action="token_use", credential_id="k1"))
    >>> st, _ = det.step(st, make_event(ts=60, user="admin", action="key_revoke",
    ...                                 credential_id="k1"))
    >>> st, found = det.step(st, make_event(ts=120, user="svc", action="token_use",
    ...                                     credential_id="k1"))
    >>> found[0].evidence["rule"], found[0].severity, found[0].key
    ('revoked', 'critical', 'k1')
    """

    name = "credential_hygiene"
    key_kind = "credential"
    config_model = CredentialHygieneConfig
    accepts_outcomes = frozenset({"success"})

    def accepts(self, event: AccessEvent) -> bool:
        return event.outcome == "success" and event.credential_id is not None

    def step(self, state: dict[str, Any] | None, event: AccessEvent
             ) -> tuple[Any, list[Finding]]:
        ts = event.ts
        # v: id of the event that started the key version, born: its time (None: unknown),
        # last: newest use or version start, revoked: revoking event id, fired: incident per
        # open condition, others: principals already reported for this version.
        st = state if state is not None else {
            "owner": None, "v": None, "born": None, "last": None, "revoked": None,
            "fired": {}, "others": []}
        if event.action in _LIFECYCLE:
            self._lifecycle(st, event)
            return st, []
        found = []
        if st["revoked"] is not None:
            found += self._once(st, "revoked", st["revoked"], event, self.config.revoked_severity)
        last = st["last"]
        if last is not None and ts - last > self.config.stale_days * DAY:
            found.append(self._finding(event, "stale", self.config.severity, st,
                                       incident=f"{event.event_id}:stale", idle=ts - last))
        st["last"] = ts if last is None else max(last, ts)
        if st["owner"] is None:
            st["owner"] = event.user
        elif event.user != st["owner"] and event.user not in st["others"]:
            st["others"] = [*st["others"], event.user][-_MAX_PRINCIPALS:]
            found.append(self._finding(event, "new_principal", self.config.new_principal_severity,
                                       st, incident=f"{event.event_id}:new_principal"))
        born = st["born"]
        if born is not None and ts - born > self.config.max_key_age_days * DAY:
            found += self._once(st, "unrotated", st["v"], event, self.config.severity)
        return st, found

    def _lifecycle(self, st: dict[str, Any], event: AccessEvent) -> None:
        if event.action == "key_revoke":
            if st["revoked"] is None:
                st["revoked"] = event.event_id
                st["fired"].pop("revoked", None)
            return
        owner = event.attributes.get("owner")
        if isinstance(owner, str) and owner.strip():
            st["owner"] = owner.strip()
        st.update(v=event.event_id, born=event.ts, revoked=None, fired={}, others=[])
        st["last"] = event.ts if st["last"] is None else max(st["last"], event.ts)

    def _once(self, st: dict[str, Any], rule: str, opened_by: str, event: AccessEvent,
              severity: Severity) -> list[Finding]:
        if rule in st["fired"]:
            return []
        st["fired"][rule] = incident = f"{opened_by}:{rule}"
        return [self._finding(event, rule, severity, st, incident=incident, opened_by=opened_by)]

    def _finding(self, event: AccessEvent, rule: str, severity: Severity, st: dict[str, Any], *,
                 incident: str, opened_by: str | None = None, idle: float = 0.0) -> Finding:
        cfg, cred, ts = self.config, str(event.credential_id), event.ts
        born = st["born"]
        why = {
            "revoked": f"after it was revoked (event {st['revoked']})",
            "stale": f"after {_days(idle)} idle (stale after {cfg.stale_days:g} days)",
            "new_principal": f"but its owner is {st['owner']}",
            "unrotated": (f"with a key version {_days(ts - born if born else 0.0)} old "
                          f"(rotate within {cfg.max_key_age_days:g} days)"),
        }[rule]
        evidence: dict[str, Any] = {"rule": rule, "credential_id": cred, "owner": st["owner"],
                                    "action": event.action, "resource": event.resource}
        if rule == "stale":
            evidence |= {"idle_seconds": idle, "stale_days": cfg.stale_days}
        elif rule == "unrotated" and born is not None:
            evidence |= {"key_age_seconds": ts - born, "max_key_age_days": cfg.max_key_age_days,
                         "key_version_event_id": st["v"]}
        elif rule == "revoked":
            evidence["revoked_by_event_id"] = st["revoked"]
        ids = (opened_by, event.event_id) if opened_by and opened_by != event.event_id else (
            event.event_id,)
        return Finding(
            detector=self.name,
            severity=severity,
            key_kind="credential",
            key=cred,
            title=f"Credential {cred}: {rule.replace('_', ' ')} use",
            explanation=(
                f"Credential {cred} was used by {event.user} ({event.action}"
                f"{' on ' + event.resource if event.resource else ''}) at "
                f"{utc(ts):%Y-%m-%d %H:%M} UTC {why} (rule {rule})."
            ),
            incident=incident,
            first_seen=ts,
            last_seen=ts,
            event_ids=ids,
            user=event.user,
            source_ips=(event.source_ip,) if event.source_ip else (),
            evidence=evidence,
        )
