import json
from collections import Counter
from pathlib import Path

import pytest

from tests.detectors.sources.support import events, read_lines, run, skips

SAMPLE = "github-audit-sentinel/Github_sample_logs.json"


@pytest.fixture(scope="module")
def sample(data_dir: Path) -> list:
    return run("github-audit", read_lines(data_dir / SAMPLE))


def test_sample_parses_completely(sample: list) -> None:
    assert len(events(sample)) == 63 and skips(sample) == []
    kinds = Counter((e.action, e.outcome) for e in events(sample))
    assert kinds[("login", "failure")] == 5 and kinds[("login", "success")] == 6
    assert kinds[("mfa", "failure")] == 1


def test_failed_login_from_the_ipad(sample: list) -> None:
    ev = next(e for e in events(sample) if e.event_id == "github:9VrWHdPhUsQ1-fSB7EyXvQ")
    assert (ev.user, ev.action, ev.outcome) == ("siteshjha11", "login", "failure")
    assert ev.timestamp.isoformat() == "2024-03-13T17:03:12.604000+00:00"
    assert "iPad" in ev.user_agent and ev.source_ip is None  # the export has no IPs


def test_token_burst_is_six_key_creations_with_hashed_tokens(sample: list) -> None:
    pats = [e for e in events(sample)
            if e.attributes["github_action"] == "personal_access_token.create"]
    assert len(pats) == 6 and {e.action for e in pats} == {"key_create"}
    assert all(e.credential_id for e in pats)
    assert Counter(e.attributes["token_name"] for e in pats)["azlabtoken"] == 2


def test_org_admin_grant_keeps_the_raw_action(sample: list) -> None:
    ev = next(e for e in events(sample) if e.attributes["github_action"] == "org.add_member")
    assert ev.action == "create" and ev.attributes["permission"] == "admin"
    assert ev.resource == "github/x-sentinellabs"


def test_entry_without_actor_falls_back_to_user(sample: list) -> None:
    ev = next(e for e in events(sample)
              if e.attributes["github_action"] == "user.forgot_password")
    assert ev.user == "siteshjha11"


def entry(**fields: object) -> str:
    base = {"@timestamp": 1710349392604, "_document_id": "d1", "action": "user.login",
            "actor": "octo"}
    base.update(fields)
    return json.dumps(base)


def test_ip_country_and_iso_created_at() -> None:
    (ev,) = events(run("github-audit", [entry(
        **{"@timestamp": None}, created_at="2024-03-13T17:03:12Z", actor_ip="2001:db8::9",
        actor_location={"country_code": "de"})]))
    assert (ev.source_ip, ev.geo.country) == ("2001:db8::9", "DE")
    assert ev.timestamp.isoformat() == "2024-03-13T17:03:12+00:00"


@pytest.mark.parametrize(("action", "mapped"), [
    ("personal_access_token.destroy", "key_revoke"), ("repo.destroy", "delete"),
    ("repo.update", "modify"), ("org.remove_member", "delete"),
    ("personal_access_token.something_new", "token_use"), ("user.new_device_used", "other"),
])
def test_action_mapping(action: str, mapped: str) -> None:
    (ev,) = events(run("github-audit", [entry(action=action)]))
    assert ev.action == mapped and ev.attributes["github_action"] == action


def test_bots_are_services_and_bad_entries_are_reported() -> None:
    out = run("github-audit", [
        entry(actor="dependabot[bot]"), entry(action=None), entry(**{"@timestamp": "soon"}),
        entry(actor=None),
    ])
    assert events(out)[0].actor_type == "service"
    assert [s.reason for s in skips(out)] == [
        "github-audit: not an audit entry", "github-audit: no timestamp", "github-audit: no actor"]
