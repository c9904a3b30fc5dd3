"""The worker's audit trail: what it saw and said, in a chain that verifies."""

import asyncio
import json
from pathlib import Path

import pytest

from detectors.scenario import ScenarioSpec, generate
from pipeline import topics
from pipeline.broker import EmbeddedBroker
from pipeline.cli import main
from pipeline.produce import produce_lines
from pipeline.receiver import WebhookReceiver
from pipeline.testing import start_worker, wait_committed


def test_worker_archives_events_dead_letters_alerts_and_deliveries(
    broker: EmbeddedBroker, receiver: WebhookReceiver, tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["archive", "keygen", "--out", str(tmp_path / "seal")]) == 0
    events = [ev for ev, _ in generate(ScenarioSpec(users=10, hours=1, seed=5))]
    lines = [ev.to_json() for ev in events] + [b"{broken"]
    archive = tmp_path / "archive"
    worker = start_worker(broker.bootstrap, tmp_path, app_id="e2e-archive",
                          webhook_url=receiver.url, extra_env={
                              "ACCESSGUARD_ARCHIVE_DIR": str(archive),
                              "ACCESSGUARD_ARCHIVE_KEY_FILE": str(tmp_path / "seal.key"),
                              "ACCESSGUARD_WORKER_NAME": "w1"})
    try:
        asyncio.run(produce_lines(broker.bootstrap, lines, validate=False))
        assert receiver.wait_for(1, 30)
        wait_committed(broker.bootstrap, "e2e-archive", topics.EVENTS, len(lines))
    finally:
        assert worker.stop() == 0
    capsys.readouterr()
    chain = archive / "w1"
    assert main(["archive", "verify", str(chain), "--public-key",
                 str(tmp_path / "seal.pub")]) == 0
    assert "intact" in capsys.readouterr().out.lower()

    def search(*args: str) -> list[dict]:
        assert main(["archive", "search", str(chain), *args]) == 0
        return [json.loads(x) for x in capsys.readouterr().out.splitlines() if x.strip()]

    assert len(search("--kind", "event")) == len(events)
    dead = search("--kind", "dead_letter")
    assert len(dead) == 1 and dead[0]["data"]["reason"].startswith("not JSON")
    alerts = search("--kind", "alert", "--detector", "failed_login_burst")
    assert [a["data"]["decision"] for a in alerts] == ["notify"]
    deliveries = search("--kind", "delivery")
    assert {d["data"]["destination"] for d in deliveries} >= {"webhook"}
    assert all(d["data"]["delivered"] for d in deliveries)
    assert len(search("--kind", "config")) == 1
    assert search("--user", "user007", "--kind", "event")
