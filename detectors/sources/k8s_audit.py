"""``k8s-audit``: Kubernetes API server audit events (``audit.k8s.io`` Event, JSON lines).

One request is one event: only its final stage (``ResponseComplete``, or ``Panic``) is mapped;
``RequestReceived`` and ``ResponseStarted`` are skipped with their stage as the reason (a
long-running ``exec`` or ``watch`` counts when it completes). An ``EventList`` is unpacked.

* ``user``: ``impersonatedUser.username`` when set (the real ``user.username`` is kept in
  ``attributes.real_user``), else ``user.username``; groups go to ``attributes.groups``.
  ``system:serviceaccount:*``, ``system:node:*`` and other ``system:`` users (except
  ``system:anonymous``) are ``actor_type=service``.
* ``action``: get/list/watch -> ``view``, create -> ``create``, update/patch -> ``modify``,
  delete/deletecollection -> ``delete``, impersonate -> ``elevate``; other verbs as themselves.
* ``resource``: ``k8s/<namespace>/<resource>[/<name>[/<subresource>]]``, namespace
  ``_cluster`` for cluster-scoped objects; for a create without a name in ``objectRef``, the name
  of the created object. Non-resource URLs (``/healthz``) have no resource; the URI is always
  in ``attributes.request_uri``.
* ``outcome``: ``responseStatus.code`` 401 -> ``failure``, 403 (or an authorizer decision of
  ``forbid``) -> ``denied``, below 400 -> ``success``, any other error -> ``failure``; a
  ``Panic`` without a code -> ``failure``.
* ``source_ip``: ``sourceIPs[0]``; ``event_id``: ``k8s:<auditID>``; time: when the API server
  received the request.
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
    validated,
)

__all__ = ["parse_k8s_audit"]

_FMT = "k8s-audit"
_FINAL = frozenset({"ResponseComplete", "Panic"})
_VERBS = {
    "get": "view", "list": "view", "watch": "view", "create": "create", "update": "modify",
    "patch": "modify", "delete": "delete", "deletecollection": "delete",
    "impersonate": "elevate",
}


def parse_k8s_audit(lines: Iterable[str], options: SourceOptions) -> Iterator[Parsed]:
    """Map final-stage audit events to access events.

    >>> line = ('{"kind": "Event", "auditID": "a1", "stage": "ResponseComplete", "verb": "get",'
    ...         ' "user": {"username": "dev@example.com"}, "sourceIPs": ["10.1.2.3"],'
    ...         ' "objectRef": {"resource": "secrets", "namespace": "prod", "name": "db"},'
    ...         ' "responseStatus": {"code": 403},'
    ...         ' "requestReceivedTimestamp": "2026-03-02T09:00:00.5Z"}')
    >>> ev = next(parse_k8s_audit([line], SourceOptions()))
    >>> ev.user, ev.action, ev.outcome, ev.resource
    ('dev@example.com', 'view', 'denied', 'k8s/prod/secrets/db')
    """
    for rec in iter_json_records(lines, "items", _FMT):
        yield rec if isinstance(rec, Skipped) else _record(rec)


def _record(rec: JsonRecord) -> Parsed:
    e = rec.value
    if not isinstance(e, dict) or e.get("kind", "Event") != "Event" or "verb" not in e:
        return Skipped(rec.line_no, "k8s-audit: not an audit Event", rec.raw, bad=True)
    stage = e.get("stage", "ResponseComplete")
    if stage not in _FINAL:
        return Skipped(rec.line_no, f"k8s-audit: non-final stage {str(stage)[:32]}", rec.raw)
    if not e.get("auditID"):
        return Skipped(rec.line_no, "k8s-audit: no auditID", rec.raw, bad=True)
    when = next((t for t in map(parse_time, (e.get("requestReceivedTimestamp"),
                e.get("stageTimestamp"), e.get("timestamp"))) if t is not None), None)
    if when is None:
        return Skipped(rec.line_no, "k8s-audit: no timestamp", rec.raw, bad=True)
    real = as_dict(e.get("user"))
    imp = as_dict(e.get("impersonatedUser"))
    who = imp if imp.get("username") else real
    user = clip(who.get("username"), 256)
    if user is None:
        return Skipped(rec.line_no, "k8s-audit: no username", rec.raw, bad=True)

    verb = str(e["verb"])
    code = as_dict(e.get("responseStatus")).get("code")
    annotations = as_dict(e.get("annotations"))
    attrs: dict[str, Any] = {"k8s_verb": verb, "audit_stage": stage}
    if e.get("requestURI"):
        attrs["request_uri"] = str(e["requestURI"])[:2048]
    if who is imp:
        attrs["real_user"] = real.get("username")
    if who.get("groups"):
        attrs["groups"] = list(who["groups"])
    if code is not None:
        attrs["status_code"] = code
    if annotations.get("authorization.k8s.io/decision"):
        attrs["authorization_decision"] = annotations["authorization.k8s.io/decision"]
    ref = e.get("objectRef") if isinstance(e.get("objectRef"), dict) else None
    if ref and ref.get("apiGroup"):
        attrs["api_group"] = ref["apiGroup"]
    ips = e.get("sourceIPs") or []
    data: dict[str, Any] = {
        "event_id": f"k8s:{e['auditID']}",
        "timestamp": when,
        "user": user,
        "action": _VERBS.get(verb) or (verb.lower() if verb.isalpha() else "api_call"),
        "outcome": _outcome(code, annotations, stage),
        "source_ip": ip_or_none(ips[0]) if isinstance(ips, list) and ips else None,
        "resource": _resource(ref, e) if ref else None,
        "actor_type": _actor_type(user),
        "service": "kube-apiserver",
        "user_agent": clip(e.get("userAgent"), 1024),
        "attributes": attrs,
    }
    return validated(data, rec.line_no, rec.raw, _FMT)


def _outcome(code: object, annotations: dict[str, Any], stage: str) -> str:
    if annotations.get("authorization.k8s.io/decision") == "forbid" or code == 403:
        return "denied"
    if isinstance(code, int):
        return "success" if code < 400 else "failure"
    return "failure" if stage == "Panic" else "success"


def _resource(ref: dict[str, Any], e: dict[str, Any]) -> str | None:
    kind = ref.get("resource")
    if not kind:
        return None
    name = ref.get("name") or (_created_name(e) if e.get("verb") == "create" else None)
    parts = ["k8s", ref.get("namespace") or "_cluster", kind]
    if name:
        parts.append(name)
        if ref.get("subresource"):
            parts.append(ref["subresource"])
    return "/".join(str(p) for p in parts)[:1024]


def _created_name(e: dict[str, Any]) -> str | None:
    for key in ("responseObject", "requestObject"):
        obj = e.get(key)
        meta = obj.get("metadata") if isinstance(obj, dict) else None
        if isinstance(meta, dict) and meta.get("name"):
            return str(meta["name"])
    return None


def _actor_type(user: str) -> str:
    return "service" if user.startswith("system:") and user != "system:anonymous" else "human"
