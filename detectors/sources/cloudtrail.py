"""``cloudtrail``: AWS CloudTrail records -> access events.

Input: a CloudTrail file (``{"Records": [...]}``, on one line or pretty-printed) or one record
per line (as exported by Logstash and most SIEMs; ``@timestamp`` stands in for ``eventTime``).

Mapping:

* ``user``: IAM user name; ``Role/session`` for an assumed role; ``root`` for the account root
  (the account is always in ``attributes.aws_account``); the invoking service for
  ``AWSService`` (``actor_type=service``, as are role sessions named after an EC2 instance).
* ``action``: ``ConsoleLogin`` -> ``login``; ``AssumeRole*`` -> ``elevate``;
  ``GetSessionToken``/``GetFederationToken``/``CreateAccessKey`` -> ``key_create``;
  ``DeleteAccessKey`` -> ``key_revoke``; ``UpdateAccessKey`` -> ``key_rotate``; otherwise by
  the verb that starts ``eventName`` (Get/List/Describe/Head -> ``view``, Create/Put/Run/Start
  -> ``create``, Update/Modify/Attach/Set -> ``modify``, Delete/Terminate/Detach/Remove ->
  ``delete``, ...), else the verb itself in lowercase (``Decrypt`` -> ``decrypt``).
* ``outcome``: ConsoleLogin's ``responseElements.ConsoleLogin``; an ``errorCode`` meaning "not
  allowed" (AccessDenied*, UnauthorizedOperation, ``Client.*``, ...) -> ``denied``; any other
  error (bad signature, expired token, missing bucket, ...) -> ``failure``; else ``success``.
* ``mfa``: ``aws_mfa`` when ConsoleLogin says ``MFAUsed: Yes`` or the session is
  ``mfaAuthenticated`` (the ``MfaType`` name when CloudTrail gives one).
* ``source_ip``: ``sourceIPAddress`` when it is an IP; AWS service names (``ec2.amazonaws.com``,
  ``AWS Internal``) go to ``attributes.source_service`` instead.
* ``resource``: ``aws/<service>/<name>`` from the request (bucket/key, role, user, instance,
  function, table, ...) or the first ``resources`` ARN; ``aws/<service>`` when there is none.
* ``credential_id``: ``userIdentity.accessKeyId``. A temporary key that a call *issues*
  (AssumeRole, GetSessionToken) is ``attributes.issued_credential_id``, so a later call with it
  can be tied back. Secrets in ``responseElements`` are never copied.
"""

from __future__ import annotations

import re
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

__all__ = ["parse_cloudtrail"]

_FMT = "cloudtrail"
_VERB = re.compile(r"[A-Z][a-z]*")
_VERBS: dict[str, str] = {}
for _mapped, _words in {
    "view": "Get List Describe Head Lookup Search Select Scan Query Check Preview View "
            "Download Filter Estimate Validate Test Simulate Decode",
    "create": "Create Put Run Start Add Upload Copy Import Register Invoke Publish Send Issue "
              "Allocate Request Generate Subscribe Schedule Launch Clone Initiate",
    "modify": "Update Modify Attach Set Enable Disable Associate Change Reset Tag Untag Replace "
              "Stop Reboot Restore Apply Accept Authorize Reject Rotate Upgrade Move Rename "
              "Edit Assign Unassign Resize Merge Resume Suspend Pause Restart",
    "delete": "Delete Terminate Detach Remove Revoke Disassociate Deregister Cancel Purge "
              "Deactivate Release Unsubscribe Destroy Unregister Disconnect Abort",
}.items():
    for _word in _words.split():
        _VERBS[_word] = _mapped

_SPECIAL = {
    "ConsoleLogin": "login",
    "AssumeRole": "elevate",
    "AssumeRoleWithSAML": "elevate",
    "AssumeRoleWithWebIdentity": "elevate",
    "SwitchRole": "elevate",
    "GetSessionToken": "key_create",
    "GetFederationToken": "key_create",
    "CreateAccessKey": "key_create",
    "DeleteAccessKey": "key_revoke",
    "UpdateAccessKey": "key_rotate",
    "CheckMfa": "mfa",
}
_DENIED_CODES = frozenset({
    "AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "Unauthorized",
    "UnauthorizedAccess", "Forbidden", "ForbiddenException", "AuthorizationError",
    "AuthorizationErrorException", "UnauthorizedException", "NotAuthorized",
})
# Request fields that name what was touched, in order of preference.
_NAME_KEYS = (
    "roleArn", "roleName", "userName", "groupName", "policyArn", "functionName", "tableName",
    "dBInstanceIdentifier", "DBInstanceIdentifier", "secretId", "keyId", "name", "clusterName",
    "repositoryName", "stackName", "topicArn", "queueUrl", "logGroupName", "instanceId",
    "groupId", "vpcId", "imageId", "snapshotId", "volumeId", "trailName", "hostedZoneId",
)
_INSTANCE_SESSION = re.compile(r"i-[0-9a-f]{8,17}$")


def parse_cloudtrail(lines: Iterable[str], options: SourceOptions) -> Iterator[Parsed]:
    """Map CloudTrail records to events; see the module docstring for the mapping.

    >>> rec = ('{"eventID": "e-1", "eventTime": "2026-03-02T09:00:00Z", "eventName":'
    ...        ' "DeleteBucket", "eventSource": "s3.amazonaws.com", "sourceIPAddress":'
    ...        ' "198.51.100.4", "errorCode": "AccessDenied", "requestParameters":'
    ...        ' {"bucketName": "payroll"}, "userIdentity": {"type": "IAMUser",'
    ...        ' "userName": "bob", "accountId": "111122223333"}}')
    >>> ev = next(parse_cloudtrail([rec], SourceOptions()))
    >>> ev.user, ev.action, ev.outcome, ev.resource
    ('bob', 'delete', 'denied', 'aws/s3/payroll')
    """
    for rec in iter_json_records(lines, "Records", _FMT):
        yield rec if isinstance(rec, Skipped) else _record(rec)


def _record(rec: JsonRecord) -> Parsed:
    r = rec.value
    if not isinstance(r, dict) or "eventName" not in r:
        return Skipped(rec.line_no, "cloudtrail: not a CloudTrail record", rec.raw, bad=True)
    when = parse_time(r.get("eventTime")) or parse_time(r.get("@timestamp"))
    if when is None:
        return Skipped(rec.line_no, "cloudtrail: no event time", rec.raw, bad=True)
    ident = as_dict(r.get("userIdentity"))
    user, actor_type = _principal(ident)
    if user is None:
        return Skipped(rec.line_no, "cloudtrail: no user identity", rec.raw, bad=True)
    name = str(r["eventName"])
    source = str(r.get("eventSource") or "")
    service = source.split(".", 1)[0]
    attrs: dict[str, Any] = {"aws_event_name": name, "aws_event_source": source}
    for key, out in (("awsRegion", "aws_region"), ("recipientAccountId", "aws_account"),
                     ("errorCode", "error_code"), ("errorMessage", "error_message"),
                     ("readOnly", "read_only"), ("eventType", "aws_event_type")):
        if r.get(key) not in (None, ""):
            attrs[out] = r[key]
    if ident.get("accountId"):
        attrs["aws_account"] = ident["accountId"]
    if ident.get("type"):
        attrs["identity_type"] = ident["type"]
    issuer = as_dict(as_dict(ident.get("sessionContext")).get("sessionIssuer"))
    if issuer.get("arn"):
        attrs["session_issuer"] = issuer["arn"]

    ip = ip_or_none(r.get("sourceIPAddress"))
    if ip is None and r.get("sourceIPAddress"):
        attrs["source_service"] = r["sourceIPAddress"]
    action = _action(name)
    outcome = _outcome(r, name)
    params = as_dict(r.get("requestParameters"))
    if action == "elevate" and params.get("roleArn"):
        attrs["role_arn"] = params["roleArn"]
        if params.get("roleSessionName"):
            attrs["role_session_name"] = params["roleSessionName"]
    issued = _issued_key(r.get("responseElements"))
    if issued:
        attrs["issued_credential_id"] = issued

    data: dict[str, Any] = {
        "event_id": f"cloudtrail:{r['eventID']}" if r.get("eventID")
        else stable_id("cloudtrail", rec.raw),
        "timestamp": when,
        "user": user,
        "action": action,
        "outcome": outcome,
        "source_ip": ip,
        "resource": None if action == "login" else _resource(service, params, r.get("resources")),
        "actor_type": actor_type,
        "mfa": _mfa(r, ident),
        "credential_id": clip(ident.get("accessKeyId"), 256),
        "service": clip(source, 256),
        "user_agent": clip(r.get("userAgent"), 1024),
        "attributes": attrs,
    }
    return validated(data, rec.line_no, rec.raw, _FMT)


def _principal(ident: dict[str, Any]) -> tuple[str | None, str]:
    kind = ident.get("type")
    arn = str(ident.get("arn") or "")
    if kind == "Root":
        return "root", "human"
    if kind == "AWSService":
        return clip(ident.get("invokedBy"), 256) or "aws-service", "service"
    if kind == "AssumedRole" and ":assumed-role/" in arn:
        role_session = arn.split(":assumed-role/", 1)[1]
        session = role_session.rsplit("/", 1)[-1]
        return role_session[:256], "service" if _INSTANCE_SESSION.match(session) else "human"
    if kind == "AWSAccount":
        account = ident.get("accountId") or ident.get("principalId")
        return (f"aws-account/{account}" if account else None), "service"
    user = ident.get("userName") or (arn.rsplit("/", 1)[-1] if "/" in arn else None)
    user = user or ident.get("principalId")
    return clip(user, 256), "human"


def _action(name: str) -> str:
    special = _SPECIAL.get(name)
    if special is not None:
        return special
    m = _VERB.match(name)
    if m is None:
        return "api_call"
    verb = m.group()
    return _VERBS.get(verb) or (verb.lower() if len(verb) <= 64 else "api_call")


def _outcome(r: dict[str, Any], name: str) -> str:
    if name == "ConsoleLogin":
        result = as_dict(r.get("responseElements")).get("ConsoleLogin")
        if result is not None:
            return "success" if result == "Success" else "failure"
    code = r.get("errorCode")
    if not code:
        return "success"
    code = str(code)
    if code in _DENIED_CODES or code.startswith("Client.") or code.startswith("AccessDenied"):
        return "denied"
    return "failure"


def _mfa(r: dict[str, Any], ident: dict[str, Any]) -> str | None:
    extra = as_dict(r.get("additionalEventData"))
    if r.get("eventName") == "ConsoleLogin" and "MFAUsed" in extra:
        if extra["MFAUsed"] != "Yes":
            return None
        return clip(extra.get("MfaType"), 64) or "aws_mfa"
    attributes = as_dict(as_dict(ident.get("sessionContext")).get("attributes"))
    return "aws_mfa" if str(attributes.get("mfaAuthenticated")).lower() == "true" else None


def _issued_key(response: object) -> str | None:
    if not isinstance(response, dict):
        return None
    creds = response.get("credentials") or response.get("accessKey")
    return clip(creds.get("accessKeyId"), 256) if isinstance(creds, dict) else None


def _resource(service: str, params: dict[str, Any], resources: object) -> str | None:
    if not service:
        return None
    name = None
    if params.get("bucketName"):
        name = str(params["bucketName"])
        if params.get("key"):
            name += "/" + str(params["key"])
    else:
        for key in _NAME_KEYS:
            value = params.get(key)
            if isinstance(value, str) and value:
                name = value
                break
        else:
            name = _first_instance(params) or _first_arn(resources)
    if name and name.startswith("arn:"):
        name = name.split(":", 5)[-1]
    return (f"aws/{service}/{name}" if name else f"aws/{service}")[:1024]


def _first_instance(params: dict[str, Any]) -> str | None:
    items = as_dict(params.get("instancesSet")).get("items")
    if isinstance(items, list) and items and isinstance(items[0], dict):
        return clip(items[0].get("instanceId"), 256)
    return None


def _first_arn(resources: object) -> str | None:
    if isinstance(resources, list) and resources and isinstance(resources[0], dict):
        return clip(resources[0].get("ARN"), 1024)
    return None
