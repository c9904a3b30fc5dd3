"""Senders built from config + environment, end to end against a real receiver."""

from __future__ import annotations

import base64
import json
import logging
import time
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from alerts.config import AlertsConfig, parse_alerts_config
from alerts.delivery import Dispatcher
from alerts.destinations import build_senders
from alerts.lifecycle import LifecyclePolicy, expire, observe
from alerts.routing import route
from alerts.testing import make_alert
from tests.alerts.conftest import FakeSleep, Receiver, Reply

NEW = "whsec_" + base64.b64encode(b"the-new-signing-secret-32-bytes!").decode()
OLD = "whsec_" + base64.b64encode(b"the-old-signing-secret-32-bytes!").decode()


def setup(receiver: Receiver, tmp_path: Path) -> tuple[Dispatcher, dict[str, str], AlertsConfig]:
    key_file = tmp_path / "pd-key"
    key_file.write_text("PDROUTINGKEY0123456789abcdef\n")
    cfg = parse_alerts_config(f"""
allowed_hosts: [127.0.0.1]
destinations:
  slack: {{kind: slack, url_env: SLACK_URL, rate_per_second: 1000}}
  pd: {{kind: pagerduty, routing_key_file: {key_file},
        events_url: "http://127.0.0.1:{receiver.port}/v2/enqueue"}}
  hook: {{kind: webhook, url_env: HOOK_URL, signing_secrets_env: [HOOK_NEW, HOOK_OLD]}}
routes:
  destinations: [hook]
  routes:
    - {{min_severity: high, destinations: [slack, pd], continue: true}}
    - {{detector: failed_login_burst}}  # inherits hook
""")
    env = {"SLACK_URL": receiver.url.replace("/hooks/", "/slack/"), "HOOK_URL": receiver.url,
           "HOOK_NEW": NEW, "HOOK_OLD": OLD}
    senders = build_senders(cfg, env=env, sleep=FakeSleep(), seed=3)
    return Dispatcher(senders), env, cfg


async def test_an_incident_flows_from_decision_to_every_destination(
    receiver: Receiver, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.script = [Reply(500), Reply(429, {"Retry-After": "0"})]  # some turbulence
    dispatcher, env, cfg = setup(receiver, tmp_path)
    policy = LifecyclePolicy(cooldown_seconds=600)
    alert = make_alert(severity="critical")
    state, decision = observe(None, alert, now=alert.last_seen.timestamp(), policy=policy)
    [trigger] = decision.notifications
    dests = route(cfg.routes, trigger.alert.label_set())
    assert dests == ["slack", "pd", "hook"]
    outcomes = await dispatcher.dispatch(trigger, dests)
    _, closing = expire(state, now=alert.last_seen.timestamp() + 601, policy=policy)
    assert closing is not None
    outcomes += await dispatcher.dispatch(closing.notifications[0], ["pd"])
    await dispatcher.aclose()
    assert all(o.delivered for o in outcomes)

    by_path: dict[str, list[dict]] = {}
    for r in receiver.requests:
        by_path.setdefault(r.path, []).append(json.loads(r.body))
    pd = by_path["/v2/enqueue"]
    assert [e["event_action"] for e in pd][-2:] == ["trigger", "resolve"]
    assert {e["dedup_key"] for e in pd} == {alert.alert_id}
    assert "blocks" in by_path["/slack/T0SECRETPATH"][-1]
    # The turbulence goes to whichever requests arrive first (the destinations run in
    # parallel), so the webhook may have been retried: the last of its requests is the one
    # that was accepted.
    hook_reqs = [r for r in receiver.requests if r.path == "/hooks/T0SECRETPATH"]
    assert 1 <= len(hook_reqs) <= 3
    hook_req = hook_reqs[-1]
    assert Webhook(OLD).verify(hook_req.body, hook_req.headers)["type"] == "alert.trigger"
    assert time.time() - int(hook_req.headers["webhook-timestamp"]) < 300

    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "HTTP Request" in logged
    for secret in ("SECRETPATH", "PDROUTINGKEY", NEW, OLD, NEW[6:], OLD[6:]):
        assert secret not in logged
    reprs = " ".join(repr(s) for s in dispatcher.senders.values())
    assert not any(secret in reprs for secret in env.values())
