"""A running worker picks up a changed config file; a broken one is rejected and the
previous config stays in force."""

import asyncio
from pathlib import Path

from detectors.testing import make_event
from pipeline.broker import EmbeddedBroker
from pipeline.produce import produce_lines
from pipeline.receiver import WebhookReceiver
from pipeline.testing import start_worker

CONFIG = "detectors:\n  failed_login_burst:\n    threshold: {n}\n"


def burst(broker: EmbeddedBroker, user: str, n: int) -> None:
    lines = [make_event(ts=i, outcome="failure", user=user).to_json() for i in range(n)]
    asyncio.run(produce_lines(broker.bootstrap, lines))


def test_config_changes_apply_without_restart(
    broker: EmbeddedBroker, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    cfg = tmp_path / "accessguard.yaml"
    cfg.write_text(CONFIG.format(n=5))
    worker = start_worker(broker.bootstrap, tmp_path, app_id="e2e-reload",
                          webhook_url=receiver.url, partitions=1, extra_env={
                              "ACCESSGUARD_CONFIG_PATH": str(cfg),
                              "ACCESSGUARD_CONFIG_RELOAD_SECONDS": "0.5"})
    try:
        mark = len(worker.lines)
        cfg.write_text(CONFIG.format(n=3))
        reloaded = worker.wait_for("config.reloaded", 20, after=mark)
        assert reloaded["version"] == 2
        burst(broker, "gil", 3)  # 3 failures: enough now
        assert [r.json()["data"]["alert"]["user"] for r in receiver.wait_for(1, 30)] == ["gil"]

        mark = len(worker.lines)
        cfg.write_text(CONFIG.format(n=1) + "    windw_seconds: 10\n")
        rejected = worker.wait_for("config.rejected", 20, after=mark)
        assert rejected["kept_version"] == 2
        assert any("threshold" in p for p in rejected["problems"])
        assert any("windw_seconds: unknown key" in p for p in rejected["problems"])
        burst(broker, "hal", 2)  # version 2 (threshold 3) still applies: no alert ...
        burst(broker, "ivy", 3)  # ... and a burst of 3 still alerts
        got = receiver.wait_for(2, 30)
    finally:
        assert worker.stop() == 0
    assert [r.json()["data"]["alert"]["user"] for r in got] == ["gil", "ivy"]
