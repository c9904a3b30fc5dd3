"""Renderers: Slack Block Kit (parsed by slack_sdk), PagerDuty v2, signed webhooks."""

from __future__ import annotations

import base64
import json
import time

import pytest
from slack_sdk.models.blocks import Block
from standardwebhooks import Webhook
from standardwebhooks.webhooks import WebhookVerificationError

from alerts.destinations import render_pagerduty, render_webhook
from alerts.model import Notification
from alerts.pagerduty import SEVERITY_MAP, pagerduty_event
from alerts.signing import decode_secret
from alerts.slack import MAX_BLOCKS, slack_message
from alerts.testing import make_alert

SECRET_A = "whsec_" + base64.b64encode(b"first-signing-secret-32-bytes!!!").decode()
SECRET_B = "whsec_" + base64.b64encode(b"second-signing-secret-32-bytes!!").decode()


def notes() -> list[Notification]:
    """Every kind, every severity, long and hostile text, many IPs, a country."""
    out = []
    for kind in ("trigger", "realert", "resolve"):
        for sev in ("info", "low", "medium", "high", "critical"):
            out.append(Notification(kind=kind, alert=make_alert(severity=sev), occurrences=3,
                                    sequence=1))
    long = make_alert(
        title="T" * 400, explanation="<b>&" * 2000,
        source_ips=tuple(f"198.51.100.{i}" for i in range(40)),
        labels={"country": "DE"}, environment="production", user="u" * 300,
    )
    out.append(Notification(alert=long))
    return out


@pytest.mark.parametrize("note", notes(), ids=lambda n: f"{n.kind}-{n.alert.severity}")
def test_every_slack_payload_parses_with_slack_sdk(note: Notification) -> None:
    msg = slack_message(note)
    assert len(msg["blocks"]) <= MAX_BLOCKS and msg["text"]
    parsed = Block.parse_all(msg["blocks"])
    assert len(parsed) == len(msg["blocks"])
    for block, raw in zip(parsed, msg["blocks"], strict=True):
        block.validate_json()  # slack_sdk's own limits (lengths, field counts)
        assert block.to_dict() == raw
    json.dumps(msg)


def test_slack_message_carries_what_on_call_needs() -> None:
    alert = make_alert(labels={"country": "DE"}, environment="production")
    msg = slack_message(Notification(alert=alert, occurrences=2))
    header, fields, explanation, context = msg["blocks"]
    assert header["text"]["text"] == alert.title
    text = " ".join(f["text"] for f in fields["fields"])
    for needle in ("alice", "203.0.113.7 (DE)", "5 events; 2 occurrences", "production",
                   "2026-03-02 08:59:20 UTC → 2026-03-02 09:00:00 UTC (40 s)"):
        assert needle in text
    assert explanation["text"]["text"] == alert.explanation
    assert alert.alert_id in context["elements"][0]["text"]
    assert "2026-03-02 09:00:00 UTC" in context["elements"][0]["text"]


def test_slack_escapes_mrkdwn_and_marks_resolve() -> None:
    msg = slack_message(Notification(kind="resolve", alert=make_alert(explanation="<!here> & co")))
    assert msg["blocks"][0]["text"]["text"].startswith("Resolved: ")
    assert msg["blocks"][2]["text"]["text"] == "&lt;!here&gt; &amp; co"


def test_pagerduty_trigger_and_resolve() -> None:
    alert = make_alert(title="x" * 2000, environment="production")
    ev = pagerduty_event(Notification(alert=alert, occurrences=4), routing_key="rk")
    assert ev["event_action"] == "trigger" and ev["dedup_key"] == alert.alert_id
    p = ev["payload"]
    assert len(p["summary"]) == 1024 and p["severity"] == "error" and p["source"] == "alice"
    assert p["group"] == "production" and p["custom_details"]["occurrences"] == 4
    assert set(SEVERITY_MAP.values()) == {"critical", "error", "warning", "info"}
    res = pagerduty_event(Notification(kind="resolve", alert=alert), routing_key="rk")
    assert res == {"routing_key": "rk", "event_action": "resolve", "dedup_key": alert.alert_id}
    body, headers = render_pagerduty(Notification(alert=alert), 0.0, routing_key="rk")
    assert json.loads(body)["routing_key"] == "rk" and headers == {}


def test_webhook_signatures_verify_with_every_rotated_secret() -> None:
    note = Notification(kind="realert", alert=make_alert(), sequence=2)
    keys = (decode_secret(SECRET_A), decode_secret(SECRET_B))
    now = time.time()  # standardwebhooks checks the timestamp against the wall clock
    body, headers = render_webhook(note, now, keys=keys)
    assert headers["webhook-id"] == note.idempotency_key
    assert headers["webhook-timestamp"] == str(int(now))
    assert len(headers["webhook-signature"].split(" ")) == 2
    for secret in (SECRET_A, SECRET_B):
        data = Webhook(secret).verify(body, headers)
        assert data["type"] == "alert.realert"
        assert data["data"]["alert"]["alert_id"] == note.alert.alert_id
    other = "whsec_" + base64.b64encode(b"not-the-right-secret-at-all-xxxx").decode()
    with pytest.raises(WebhookVerificationError):
        Webhook(other).verify(body, headers)
    with pytest.raises(WebhookVerificationError):
        Webhook(SECRET_A).verify(body.replace(b"realert", b"trigger"), headers)


def test_bad_secrets_are_refused_without_echoing_them() -> None:
    for bad in ("whsec_!!not-base64!!", "whsec_" + base64.b64encode(b"short").decode()):
        with pytest.raises(ValueError) as info:
            decode_secret(bad)
        assert bad not in str(info.value)


def test_our_receiver_side_verify_agrees_with_the_reference_package() -> None:
    import base64

    from alerts.signing import signature_headers, verify

    key = b"0123456789abcdef0123"
    body = b'{"type":"alert.trigger"}'
    now = int(time.time())  # the reference package checks freshness against the wall clock
    headers = signature_headers("msg_42", now, body, [key])
    secret = "whsec_" + base64.b64encode(key).decode()
    assert Webhook(secret).verify(body, headers) == {"type": "alert.trigger"}
    assert verify(headers, body, key)
    assert not verify(headers, body + b" ", key)
    assert not verify({**headers, "webhook-id": "msg_43"}, body, key)
