"""``github-audit``: GitHub audit log entries (JSON lines, as exported or streamed).

* ``user``: ``actor`` (else ``user``, for entries such as ``user.forgot_password`` that have no
  actor); a different ``user`` field (the member added, the account acted on) is
  ``attributes.target_user``. Actors ending in ``[bot]`` are ``actor_type=service``.
* ``action``: the table below for authentication and credential actions; otherwise from the
  last word of the GitHub action (``org.add_member`` -> ``create``, ``repo.destroy`` ->
  ``delete``, ``repo.update`` -> ``modify``, ``user.audit_log_export`` -> ``view``), else
  ``other``. The GitHub action is always in ``attributes.github_action``.
* ``outcome``: ``failure`` for failed logins and failed 2FA/device checks, else ``success``.
* time: ``@timestamp`` or ``created_at`` (epoch milliseconds or RFC 3339); ``source_ip``:
  ``actor_ip``; ``geo.country``: ``actor_location.country_code``; ``credential_id``:
  ``hashed_token`` (a hash GitHub publishes, never the token); ``resource``: ``github/<repo>``
  or ``github/<org>``; ``event_id``: ``github:<_document_id>``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any

from detectors.sources.base import (
    JsonRecord,
    Parsed,
    Skipped,
    SourceOptions,
    as_dict,
    clip,
    ip_or_none,
    iter_json_records,
    parse_time,
    stable_id,
    validated,
)

__all__ = ["parse_github_audit"]

_FMT = "github-audit"
# GitHub action -> (our action, outcome).
_ACTIONS: dict[str, tuple[str, str]] = {
    "user.login": ("login", "success"),
    "user.failed_login": ("login", "failure"),
    "user.logout": ("logout", "success"),
    "user.two_factor_challenge_success": ("mfa", "success"),
    "user.two_factor_challenge_failure": ("mfa", "failure"),
    "user.device_verification_success": ("mfa", "success"),
    "user.device_verification_failure": ("mfa", "failure"),
    "personal_access_token.create": ("key_create", "success"),
    "personal_access_token.regenerate": ("key_rotate", "success"),
    "personal_access_token.destroy": ("key_revoke", "success"),
    "personal_access_token.access_revoked": ("key_revoke", "success"),
    "personal_access_token.request_created": ("create", "success"),
    "personal_access_token.access_granted": ("modify", "success"),
    "personal_access_token.access_used": ("token_use", "success"),
    "oauth_access.create": ("key_create", "success"),
    "oauth_access.regenerate": ("key_rotate", "success"),
    "oauth_access.destroy": ("key_revoke", "success"),
    "oauth_access.revoke": ("key_revoke", "success"),
    "public_key.create": ("key_create", "success"),
    "public_key.delete": ("key_revoke", "success"),
    "user.reset_password": ("key_rotate", "success"),
    "user.change_password": ("key_rotate", "success"),
}
_WORDS: dict[str, str] = {}
for _mapped, _words in {
    "create": "create created add added install installed invite invited generate",
    "modify": "update updated change changed rename renamed edit set transfer transferred "
              "enable enabled disable disabled reset regenerate approve approved grant granted "
              "promote demote",
    "delete": "destroy destroyed delete deleted remove removed revoke revoked uninstall "
              "uninstalled archive archived",
    "view": "export exported download downloaded view viewed clone cloned read access",
}.items():
    for _word in _words.split():
        _WORDS[_word] = _mapped


def parse_github_audit(lines: Iterable[str], options: SourceOptions) -> Iterator[Parsed]:
    """Map GitHub audit entries to events.

    >>> line = ('{"@timestamp": 1710349392604, "_document_id": "d1", "action":'
    ...         ' "user.failed_login", "actor": "octo", "actor_ip": "192.0.2.8",'
    ...         ' "actor_location": {"country_code": "NL"}}')
    >>> ev = next(parse_github_audit([line], SourceOptions()))
    >>> ev.event_id, ev.action, ev.outcome, ev.geo.country
    ('github:d1', 'login', 'failure', 'NL')
    """
    for rec in iter_json_records(lines, "entries", _FMT):
        yield rec if isinstance(rec, Skipped) else _record(rec)


def _record(rec: JsonRecord) -> Parsed:
    e = rec.value
    if not isinstance(e, dict) or not isinstance(e.get("action"), str):
        return Skipped(rec.line_no, "github-audit: not an audit entry", rec.raw, bad=True)
    when = parse_time(e.get("@timestamp")) or parse_time(e.get("created_at"))
    if when is None:
        return Skipped(rec.line_no, "github-audit: no timestamp", rec.raw, bad=True)
    user = clip(e.get("actor"), 256) or clip(e.get("user"), 256)
    if user is None:
        return Skipped(rec.line_no, "github-audit: no actor", rec.raw, bad=True)
    gh_action = e["action"]
    action, outcome = _action(gh_action)
    attrs: dict[str, Any] = {"github_action": gh_action}
    if e.get("user") and e.get("user") != user:
        attrs["target_user"] = e["user"]
    for key, out in (("operation_type", "operation_type"), ("org", "org"), ("repo", "repo"),
                     ("permission", "permission"), ("business", "business"),
                     ("programmatic_access_type", "token_type"),
                     ("user_programmatic_access_name", "token_name"),
                     ("repository_selection", "repository_selection")):
        if e.get(key) not in (None, "", []):
            attrs[out] = e[key]
    location = as_dict(e.get("actor_location"))
    country = location.get("country_code")
    data: dict[str, Any] = {
        "event_id": f"github:{e['_document_id']}" if e.get("_document_id")
        else stable_id("github", rec.raw),
        "timestamp": when,
        "user": user,
        "action": action,
        "outcome": outcome,
        "source_ip": ip_or_none(e.get("actor_ip")),
        "resource": _resource(e),
        "actor_type": "service" if user.endswith("[bot]") else "human",
        "credential_id": clip(e.get("hashed_token"), 256),
        "service": "github",
        "user_agent": clip(e.get("user_agent"), 1024),
        "geo": {"country": country.upper()} if isinstance(country, str) and len(country) == 2
        else None,
        "attributes": attrs,
    }
    return validated(data, rec.line_no, rec.raw, _FMT)


def _action(gh_action: str) -> tuple[str, str]:
    known = _ACTIONS.get(gh_action)
    if known is not None:
        return known
    last = gh_action.rsplit(".", 1)[-1].lower()
    outcome = "failure" if last.endswith(("_failure", "failed")) else "success"
    if gh_action.startswith("personal_access_token."):
        return "token_use", outcome
    for word in last.split("_"):
        if word in _WORDS:
            return _WORDS[word], outcome
    return "other", outcome


def _resource(e: dict[str, Any]) -> str | None:
    for key in ("repo", "org"):
        value = e.get(key)
        if isinstance(value, str) and value:
            return f"github/{value}"[:1024]
    return None
