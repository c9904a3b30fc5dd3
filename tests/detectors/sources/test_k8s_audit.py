import json
from collections import Counter
from pathlib import Path

import pytest

from tests.detectors.sources.support import events, read_lines, run, skips

SAMPLE = "falco-k8s-audit/k8s_audit_events_combined.jsonl"


@pytest.fixture(scope="module")
def sample(data_dir: Path) -> list:
    return run("k8s-audit", read_lines(data_dir / SAMPLE))


def test_one_event_per_completed_request(sample: list) -> None:
    assert len(events(sample)) == 49
    assert [(s.reason, s.bad) for s in skips(sample)] == [
        ("k8s-audit: non-final stage ResponseStarted", False)] * 2  # exec and attach
    # Falco's hand-edited fixtures reuse two auditIDs (e.g. the anonymous and some-user
    # namespace creations): same request id, same event id, so a replay dedups them.
    ids = Counter(e.event_id for e in events(sample))
    assert len(ids) == 47
    assert ids["k8s:841d3e6d-90d2-43df-8da4-684738bee3d5"] == 2


def test_anonymous_creates_a_namespace(sample: list) -> None:
    ev = events(sample)[0]
    assert ev.event_id == "k8s:841d3e6d-90d2-43df-8da4-684738bee3d5"
    assert (ev.user, ev.action, ev.outcome, ev.actor_type) == (
        "system:anonymous", "create", "success", "human")
    assert ev.resource == "k8s/_cluster/namespaces/foo" and ev.source_ip == "192.168.99.1"
    assert ev.attributes["groups"] == ["system:masters", "system:authenticated"]
    assert ev.timestamp.isoformat() == "2018-10-25T13:58:49.730588+00:00"


def test_users_and_verbs_of_the_sample(sample: list) -> None:
    found = events(sample)
    assert Counter(e.action for e in found) == {"create": 38, "delete": 9, "view": 1,
                                                "modify": 1}
    rs = [e for e in found if e.user.endswith(":replicaset-controller")]
    assert len(rs) == 10 and {e.actor_type for e in rs} == {"service"}
    assert Counter(r.resource.split("/")[1] for r in rs) == {
        "default": 8, "kube-public": 1, "kube-system": 1}
    assert all(r.resource.split("/")[3].startswith("nginx-deployment-") for r in rs)


def test_every_falco_trace_file(data_dir: Path) -> None:
    files = sorted((data_dir / "falco-k8s-audit" / "trace_files").glob("*.json"))
    out = [p for f in files for p in run("k8s-audit", read_lines(f))]
    assert len(events(out)) == 49
    bad = [s for s in skips(out) if s.bad]
    assert [(s.reason, s.raw) for s in bad] == [
        ("k8s-audit: not an audit Event", '{"kind": 0}')]  # fal_01_003.json, a fuzz fixture


def audit(**fields: object) -> str:
    base = {
        "kind": "Event", "apiVersion": "audit.k8s.io/v1", "auditID": "a-1",
        "stage": "ResponseComplete", "verb": "get", "requestURI": "/api/v1/namespaces/p/pods/x",
        "user": {"username": "dev@example.com", "groups": ["devs"]},
        "sourceIPs": ["10.1.2.3", "10.0.0.1"],
        "objectRef": {"resource": "pods", "namespace": "p", "name": "x"},
        "responseStatus": {"code": 200},
        "requestReceivedTimestamp": "2026-03-02T09:00:00.000000Z",
        "stageTimestamp": "2026-03-02T09:00:00.020000Z",
    }
    base.update(fields)
    return json.dumps(base)


def test_impersonated_user_wins_and_the_real_one_is_kept() -> None:
    (ev,) = events(run("k8s-audit", [audit(impersonatedUser={"username": "system:admin"})]))
    assert ev.user == "system:admin" and ev.attributes["real_user"] == "dev@example.com"
    assert ev.source_ip == "10.1.2.3"


@pytest.mark.parametrize(("code", "outcome"), [
    (200, "success"), (201, "success"), (101, "success"), (401, "failure"), (403, "denied"),
    (404, "failure"),
])
def test_status_codes(code: int, outcome: str) -> None:
    (ev,) = events(run("k8s-audit", [audit(responseStatus={"code": code})]))
    assert ev.outcome == outcome


@pytest.mark.parametrize(("verb", "action"), [
    ("list", "view"), ("watch", "view"), ("update", "modify"), ("patch", "modify"),
    ("deletecollection", "delete"), ("impersonate", "elevate"),
])
def test_verbs(verb: str, action: str) -> None:
    (ev,) = events(run("k8s-audit", [audit(verb=verb)]))
    assert ev.action == action


def test_subresource_and_stages_and_event_lists() -> None:
    exec_ref = {"resource": "pods", "namespace": "p", "name": "x", "subresource": "exec"}
    lines = [
        audit(stage="RequestReceived"),
        json.dumps({"kind": "EventList", "items": [
            json.loads(audit(auditID="a-2", verb="create", objectRef=exec_ref)),
            json.loads(audit(auditID="a-3", stage="Panic", responseStatus={})),
        ]}),
    ]
    out = run("k8s-audit", lines)
    assert [(s.line_no, s.reason) for s in skips(out)] == [
        (1, "k8s-audit: non-final stage RequestReceived")]
    assert [(e.event_id, e.resource, e.outcome) for e in events(out)] == [
        ("k8s:a-2", "k8s/p/pods/x/exec", "success"), ("k8s:a-3", "k8s/p/pods/x", "failure")]
