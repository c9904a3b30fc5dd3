"""The worker's web endpoints: /health, /ready and Prometheus /metrics."""

import asyncio
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from detectors.testing import make_event
from pipeline.broker import EmbeddedBroker, free_port
from pipeline.produce import produce_lines
from pipeline.receiver import WebhookReceiver
from pipeline.testing import start_worker


def samples(text: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    out = {}
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            out[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return out


def test_health_ready_and_metrics(
    broker: EmbeddedBroker, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    port = free_port()
    worker = start_worker(broker.bootstrap, tmp_path, app_id="e2e-ops", webhook_url=receiver.url,
                          extra_env={"ACCESSGUARD_WEB_PORT": str(port)})
    base = f"http://127.0.0.1:{port}"
    try:
        assert httpx.get(f"{base}/health").json()["status"] == "ok"
        assert httpx.get(f"{base}/ready").json() == {"ready": True, "config_version": 1}
        for path in ("/table/state-user/", "/table/state-user/jon/"):  # audit data: not served
            assert httpx.get(f"{base}{path}").status_code == 404
        lines = [make_event(ts=i, outcome="failure", user="jon").to_json() for i in range(5)]
        asyncio.run(produce_lines(broker.bootstrap, [*lines, b"garbage"], validate=False))
        receiver.wait_for(1, 30)
        text = ""
        for _ in range(40):  # the delivery is counted just after the POST returns, and the
            # state reaches the table at the next flush (ACCESSGUARD_STATE_FLUSH_SECONDS)
            text = httpx.get(f"{base}/metrics").text
            now = samples(text)
            if (now.get(("accessguard_deliveries_total", (("result", "delivered"),)))
                    and now.get(("accessguard_state_keys", (("table", "state-user"),)))):
                break
            asyncio.run(asyncio.sleep(0.25))
    finally:
        worker.stop()
    got = samples(text)
    assert got[("accessguard_events_total", (("result", "accepted"),))] == 5
    assert got[("accessguard_events_total", (("result", "dead_lettered"),))] == 1
    assert got[("accessguard_findings_total", (("detector", "failed_login_burst"),))] == 1
    assert got[("accessguard_alert_decisions_total", (("decision", "notify"),))] == 1
    # the default route: the console sink, plus the webhook from ACCESSGUARD_WEBHOOK_URL
    assert got[("accessguard_deliveries_total", (("result", "delivered"),))] == 2
    assert got[("accessguard_delivery_seconds_count", (("destination", "webhook"),))] == 1
    assert got[("accessguard_ready", ())] == 1
    assert got[("accessguard_state_keys", (("table", "state-user"),))] >= 1
    assert any(name == "accessguard_consumer_lag" for name, _ in got)
