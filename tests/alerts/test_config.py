"""The alerts config: validation, secrets only by reference, allowed hosts."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from alerts.config import AlertsConfig, load_alerts_config, parse_alerts_config
from alerts.delivery import ConsoleSender, FileSender, HttpSender
from alerts.destinations import build_senders
from alerts.errors import DestinationError
from detectors.errors import ConfigError

GOOD = """
allowed_hosts: [hooks.slack.com, events.pagerduty.com, 127.0.0.1]
destinations:
  slack: {kind: slack, url_env: SLACK_URL}
  pd: {kind: pagerduty, routing_key_env: PD_KEY}
  hook: {kind: webhook, url_file: %(dir)s/url, signing_secrets_env: [WH_NEW, WH_OLD]}
  out: {kind: console}
  log: {kind: file, path: %(dir)s/alerts.ndjson}
routes:
  destinations: [out]
  routes: [{min_severity: high, destinations: [slack, pd, hook, log]}]
inhibit_rules:
  - source: {detector: account_lockout}
    target: {detector: failed_login_burst}
    equal: [user]
"""
ENV = {"SLACK_URL": "https://hooks.slack.com/services/T0/B0/SECRETxyz",
       "PD_KEY": "R0UTINGKEYSECRET", "WH_NEW": "whsec_" + "QUJDREVGR0hJSktMTU5PUFFSU1Q=",
       "WH_OLD": "whsec_" + "YWJjZGVmZ2hpamtsbW5vcHFyc3Q="}


def good(tmp_path: Path) -> AlertsConfig:
    (tmp_path / "url").write_text("http://127.0.0.1:9/hook-SECRET\n")
    return parse_alerts_config(GOOD % {"dir": tmp_path})


async def test_a_full_config_builds_every_kind_of_sender(tmp_path: Path) -> None:
    cfg = good(tmp_path)
    assert cfg.inhibit_rules[0].equal == ("user",)
    senders = build_senders(cfg, env=ENV, stream=io.StringIO())
    assert {k: type(v) for k, v in senders.items()} == {
        "slack": HttpSender, "pd": HttpSender, "hook": HttpSender, "out": ConsoleSender,
        "log": FileSender}
    for s in senders.values():
        assert "SECRET" not in repr(s)
        await s.aclose()


def test_the_alerts_section_of_a_main_config_loads_too(tmp_path: Path) -> None:
    path = tmp_path / "accessguard.yaml"
    path.write_text("version: 1\ndetectors: {}\nalerts:\n  routes: {destinations: [console]}\n")
    assert load_alerts_config(path).routes.destinations == ("console",)
    assert parse_alerts_config("") == AlertsConfig()


@pytest.mark.parametrize("field", ["url", "routing_key", "signing_secret", "token"])
def test_a_literal_secret_is_rejected_with_a_clear_error(field: str) -> None:
    text = f"destinations:\n  d:\n    kind: webhook\n    {field}: https://x/SECRET\n"
    with pytest.raises(ConfigError) as info:
        parse_alerts_config(text, source="a.yaml")
    [problem] = info.value.problems
    assert problem.startswith("a.yaml:2: destinations.d")
    assert f"'{field}' would put a secret in the config file" in problem
    assert "SECRET" not in problem


def test_errors_name_line_path_and_reason() -> None:
    text = ("alerts:\n  routes:\n    destinations: [nowhere]\n  lifecycle:\n"
            "    cooldown_secs: 5\n")
    with pytest.raises(ConfigError) as info:
        parse_alerts_config(text, source="c.yaml")
    assert info.value.problems == ["c.yaml:5: alerts.lifecycle.cooldown_secs: unknown key"]
    with pytest.raises(ConfigError, match="routes name unknown destinations: nowhere"):
        parse_alerts_config("routes: {destinations: [nowhere]}")
    with pytest.raises(ConfigError, match="exactly one of url_env or url_file"):
        parse_alerts_config("destinations: {s: {kind: slack}}")


def test_missing_secrets_and_foreign_hosts_are_refused(tmp_path: Path) -> None:
    cfg = good(tmp_path)
    with pytest.raises(DestinationError) as info:
        build_senders(cfg, env={**ENV, "SLACK_URL": "https://evil.example/SECRET"})
    assert str(info.value) == "destination slack: host evil.example is not in allowed_hosts"
    with pytest.raises(DestinationError, match=r"environment variable PD_KEY .* is not set"):
        build_senders(cfg, env={k: v for k, v in ENV.items() if k != "PD_KEY"})
    with pytest.raises(DestinationError, match="plain http is only allowed to loopback"):
        build_senders(cfg, env={**ENV, "SLACK_URL": "http://hooks.slack.com/SECRET"})
    with pytest.raises(DestinationError, match="must be 'whsec_' followed by base64") as info:
        build_senders(cfg, env={**ENV, "WH_OLD": "not base64 SECRET"})
    assert "SECRET" not in str(info.value)
    (tmp_path / "url").unlink()
    with pytest.raises(DestinationError, match="cannot read secret file"):
        build_senders(cfg, env=ENV, only=("hook",))


def test_the_example_config_is_valid_and_routes_as_documented() -> None:
    from alerts.routing import route
    from alerts.testing import make_alert

    cfg = load_alerts_config(Path(__file__).parents[2] / "alerts" / "example_config.yaml")
    prod = make_alert(severity="critical", environment="production").label_set()
    assert route(cfg.routes, prod) == ["pagerduty", "slack-identity"]
    assert route(cfg.routes, make_alert(detector="x", severity="low").label_set()) == ["console"]
