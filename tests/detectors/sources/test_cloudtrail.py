import json
from collections import Counter
from pathlib import Path

import pytest

from tests.detectors.sources.support import events, read_lines, run, skips

SAMPLE = "otrf-aws-cloudtrail/ec2_proxy_s3_exfiltration_2020-09-14011940.json"
ATTACKER = "MordorNginxStack-BankingWAFRole-9S3E0UAE1MM0/i-0317f6c6b66ae9c40"
STOLEN_KEY = "ASIA5FLZVX4OPVKKVBMX"


@pytest.fixture(scope="module")
def sample(data_dir: Path) -> list:
    return run("cloudtrail", read_lines(data_dir / SAMPLE))


def by_id(found: list, event_id: str):
    return next(e for e in found if e.event_id == f"cloudtrail:{event_id}")


def test_sample_parses_completely(sample: list) -> None:
    assert len(events(sample)) == 103 and skips(sample) == []
    users = Counter(e.user for e in events(sample))
    assert users == {"pedro": 87, ATTACKER: 11, "ec2.amazonaws.com": 5}


def test_attacker_reads_the_bucket_with_the_stolen_instance_key(sample: list) -> None:
    ev = by_id(events(sample), "771299cb-e200-4926-9604-c85358b30499")
    assert (ev.user, ev.action, ev.outcome) == (ATTACKER, "view", "success")
    assert ev.actor_type == "service"  # a role session named after an EC2 instance
    assert ev.credential_id == STOLEN_KEY and ev.source_ip == "1.2.3.4"
    assert ev.resource == "aws/s3/mordors3stack-s3bucket-llp2yingx64a/ring.txt"
    assert ev.user_agent.startswith("[aws-cli/1.18.136 Python/3.8.5 Darwin/19.5.0")
    assert ev.timestamp.isoformat() == "2020-09-14T01:02:34+00:00"  # from Logstash @timestamp
    uses = [e for e in events(sample) if e.credential_id == STOLEN_KEY]
    assert Counter(e.attributes["aws_event_name"] for e in uses) == {
        "ListObjects": 7, "ListBuckets": 2, "GetObject": 2}


def test_service_assume_role_is_an_elevation_that_issues_the_key(sample: list) -> None:
    ev = by_id(events(sample), "a3a3dded-7c27-42c0-a42d-891cdd436278")
    assert (ev.user, ev.action, ev.actor_type) == ("ec2.amazonaws.com", "elevate", "service")
    assert ev.source_ip is None and ev.attributes["source_service"] == "ec2.amazonaws.com"
    assert ev.attributes["issued_credential_id"] == STOLEN_KEY
    assert ev.attributes["role_session_name"] == "i-0317f6c6b66ae9c40"
    assert ev.resource == "aws/sts/role/MordorNginxStack-BankingWAFRole-9S3E0UAE1MM0"
    assert "IQoJ" not in ev.to_json().decode()  # the session token is never copied


def test_console_admin_calls_carry_mfa(sample: list) -> None:
    ev = by_id(events(sample), "fd4f1042-c7f6-4107-a6ee-d841d92596e7")
    assert (ev.user, ev.action, ev.mfa, ev.credential_id) == (
        "pedro", "view", "aws_mfa", "ASIA5FLZVX4OI4ZDQJOL")
    assert ev.attributes["aws_event_name"] == "DescribeInstanceTypes"
    assert ev.user_agent == "console.ec2.amazonaws.com"


def test_records_file_on_one_line_and_pretty_printed(data_dir: Path) -> None:
    records = [json.loads(line) for line in read_lines(data_dir / SAMPLE)[:5]]
    expected = [e.event_id for e in events(run("cloudtrail", read_lines(data_dir / SAMPLE)[:5]))]
    one_line = [json.dumps({"Records": records})]
    pretty = json.dumps({"Records": records}, indent=2).splitlines(keepends=True)
    assert [e.event_id for e in events(run("cloudtrail", one_line))] == expected
    assert [e.event_id for e in events(run("cloudtrail", pretty))] == expected


def record(**fields: object) -> str:
    base = {
        "eventID": "e-1", "eventTime": "2026-03-02T09:00:00Z", "eventName": "ListBuckets",
        "eventSource": "s3.amazonaws.com", "sourceIPAddress": "198.51.100.4",
        "userAgent": "aws-cli/2.15", "userIdentity": {
            "type": "IAMUser", "userName": "bob", "accountId": "111122223333",
            "accessKeyId": "AKIAEXAMPLE"},
    }
    base.update(fields)
    return json.dumps(base)


def one(line: str):
    (ev,) = events(run("cloudtrail", [line]))
    return ev


def test_console_login_failure_and_mfa() -> None:
    failed = one(record(eventName="ConsoleLogin", eventSource="signin.amazonaws.com",
                        responseElements={"ConsoleLogin": "Failure"},
                        errorMessage="Failed authentication",
                        additionalEventData={"MFAUsed": "No"}))
    assert (failed.action, failed.outcome, failed.mfa, failed.resource) == (
        "login", "failure", None, None)
    ok = one(record(eventName="ConsoleLogin", responseElements={"ConsoleLogin": "Success"},
                    additionalEventData={"MFAUsed": "Yes"}))
    assert (ok.outcome, ok.mfa) == ("success", "aws_mfa")


@pytest.mark.parametrize(("code", "outcome"), [
    ("AccessDenied", "denied"), ("Client.UnauthorizedOperation", "denied"),
    ("UnauthorizedOperation", "denied"), ("AccessDeniedException", "denied"),
    ("InvalidClientTokenId", "failure"), ("NoSuchBucket", "failure"),
])
def test_error_codes(code: str, outcome: str) -> None:
    ev = one(record(errorCode=code, errorMessage="nope"))
    assert ev.outcome == outcome and ev.attributes["error_code"] == code


@pytest.mark.parametrize(("name", "action"), [
    ("GetObject", "view"), ("ListUsers", "view"), ("DescribeInstances", "view"),
    ("HeadBucket", "view"), ("CreateUser", "create"), ("PutBucketPolicy", "create"),
    ("RunInstances", "create"), ("StartInstances", "create"), ("UpdateFunctionCode", "modify"),
    ("ModifyInstanceAttribute", "modify"), ("AttachUserPolicy", "modify"),
    ("SetDefaultPolicyVersion", "modify"), ("DeleteBucket", "delete"),
    ("TerminateInstances", "delete"), ("DetachRolePolicy", "delete"),
    ("RemoveUserFromGroup", "delete"), ("AssumeRole", "elevate"),
    ("GetSessionToken", "key_create"), ("CreateAccessKey", "key_create"),
    ("DeleteAccessKey", "key_revoke"), ("Decrypt", "decrypt"),
])
def test_event_name_verbs(name: str, action: str) -> None:
    assert one(record(eventName=name)).action == action


def test_identities() -> None:
    root = one(record(userIdentity={"type": "Root", "accountId": "111122223333",
                                    "arn": "arn:aws:iam::111122223333:root"}))
    assert (root.user, root.attributes["aws_account"]) == ("root", "111122223333")
    role = one(record(userIdentity={
        "type": "AssumedRole", "accessKeyId": "ASIAEXAMPLE",
        "arn": "arn:aws:sts::111122223333:assumed-role/Admin/alice@example.com"}))
    assert (role.user, role.actor_type, role.credential_id) == (
        "Admin/alice@example.com", "human", "ASIAEXAMPLE")


def test_resource_from_request_and_source_ipv6() -> None:
    ev = one(record(eventName="DeleteRole", eventSource="iam.amazonaws.com",
                    sourceIPAddress="2001:DB8::1", requestParameters={"roleName": "ci"}))
    assert (ev.resource, ev.source_ip, ev.action) == ("aws/iam/ci", "2001:db8::1", "delete")


def test_bad_records_are_reported() -> None:
    out = run("cloudtrail", [
        record(), "{not json", json.dumps({"foo": 1}),
        record(eventTime="yesterday"), record(userIdentity={}),
    ])
    assert [(s.line_no, s.reason, s.bad) for s in skips(out)] == [
        (2, "cloudtrail: not JSON", True),
        (3, "cloudtrail: not a CloudTrail record", True),
        (4, "cloudtrail: no event time", True),
        (5, "cloudtrail: no user identity", True),
    ]
    assert len(events(out)) == 1
