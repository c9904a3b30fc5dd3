"""``accessguard alerts test|route-test`` and ``accessguard silence add|list|remove``."""

from __future__ import annotations

import base64
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from slack_sdk.models.blocks import Block
from standardwebhooks import Webhook

from alerts.testing import make_alert
from pipeline.cli import main
from tests.alerts.conftest import Receiver, Reply

SECRET = "whsec_" + base64.b64encode(b"cli-test-signing-secret-32bytes!").decode()


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    r = Receiver().start()
    yield r
    r.stop()


@pytest.fixture
def config(tmp_path: Path, receiver: Receiver, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("AG_HOOK_URL", receiver.url)
    monkeypatch.setenv("AG_SLACK_URL", receiver.url)
    monkeypatch.setenv("AG_HOOK_SECRET", SECRET)
    path = tmp_path / "accessguard.yaml"
    path.write_text(f"""
version: 1
alerts:
  allowed_hosts: [127.0.0.1]
  silences_file: {tmp_path / "silences.json"}
  destinations:
    hook: {{kind: webhook, url_env: AG_HOOK_URL, signing_secrets_env: [AG_HOOK_SECRET],
            retry: {{attempts: 2, base_seconds: 0.01}}}}
    slack: {{kind: slack, url_env: AG_SLACK_URL}}
    out: {{kind: console}}
  routes:
    destinations: [out]
    routes:
      - name: high
        min_severity: high
        destinations: [slack]
        continue: true
      - name: identity
        detector: failed_login_burst
        destinations: [hook]
""")
    return path


def test_alerts_test_sends_a_signed_sample(
    config: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["alerts", "test", "hook", "--config", str(config)]) == 0
    assert capsys.readouterr().out == "hook: HTTP 200 after 1 attempt(s)\n"
    [req] = receiver.requests
    data = Webhook(SECRET).verify(req.body, req.headers)
    assert data["data"]["alert"]["detector"] == "accessguard_test"
    assert req.headers["idempotency-key"] == data["data"]["alert"]["alert_id"]


def test_alerts_test_slack_payload_is_valid_block_kit(
    config: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["alerts", "test", "slack", "--config", str(config)]) == 0
    body = json.loads(receiver.requests[0].body)
    for block in Block.parse_all(body["blocks"]):
        block.validate_json()
    assert capsys.readouterr().out.startswith("slack: HTTP 200")


def test_alerts_test_reports_failures_in_one_line_without_secrets(
    config: Path, receiver: Receiver, capsys: pytest.CaptureFixture[str]
) -> None:
    receiver.script = [Reply(403)]
    assert main(["alerts", "test", "hook", "--config", str(config)]) == 2
    err = capsys.readouterr().err
    assert err == "accessguard: hook: HTTP 403 (not retried)\n"
    assert main(["alerts", "test", "nope", "--config", str(config)]) == 2
    assert "no destination 'nope'" in capsys.readouterr().err


def test_route_test_prints_paths_and_destinations(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "alert.json"
    path.write_bytes(make_alert(severity="critical").to_json())
    assert main(["alerts", "route-test", str(path), "--config", str(config)]) == 0
    out = capsys.readouterr().out.splitlines()
    assert "route: root > high -> slack" in out
    assert "route: root > identity -> hook" in out
    assert out[-1] == "destinations: slack, hook"
    inline = make_alert(detector="other", severity="low").to_json().decode()
    assert main(["alerts", "route-test", inline, "--config", str(config)]) == 0
    assert capsys.readouterr().out.splitlines()[-2:] == ["route: root -> out", "destinations: out"]
    assert main(["alerts", "route-test", '{"alert_id": 1}', "--config", str(config)]) == 2
    assert "<argument>: alert_id: Input should be a valid string" in capsys.readouterr().err


def test_silence_add_list_remove_prints_audit_lines(
    config: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = ["--config", str(config)]
    assert main(["silence", "add", "-m", "user=alice", "-m", "detector=~failed_.*",
                 "--duration", "2h", "--reason", "pentest", "--by", "bob", *cfg]) == 0
    audit = json.loads(capsys.readouterr().out)
    assert (audit["action"], audit["actor"]) == ("silence.add", "bob")
    sid = audit["silence"]["id"]
    assert audit["silence"]["ends_at"] - audit["silence"]["starts_at"] == 7200
    assert (tmp_path / "silences.json").exists()
    assert main(["silence", "list", *cfg]) == 0
    line = capsys.readouterr().out
    assert line.startswith(f"active\t{sid} [user=alice,detector=~failed_.*] until ")
    assert line.rstrip().endswith("by bob: pentest")
    alert = make_alert().to_json().decode()
    assert main(["alerts", "route-test", alert, *cfg]) == 0
    assert capsys.readouterr().out.splitlines()[-1] == f"muted now: silenced by {sid} (pentest)"
    assert main(["silence", "remove", sid, "--by", "carol", *cfg]) == 0
    assert json.loads(capsys.readouterr().out)["action"] == "silence.remove"
    assert main(["silence", "list", *cfg]) == 0
    assert capsys.readouterr().out == "no silences\n"
    assert main(["silence", "remove", sid, *cfg]) == 2
    assert f"no silence with id '{sid}'" in capsys.readouterr().err
    assert main(["silence", "add", "-m", "user", "--duration", "soon", "--reason", "x",
                 *cfg]) == 2
    assert "--match: 'user' is not LABEL=VALUE" in capsys.readouterr().err
