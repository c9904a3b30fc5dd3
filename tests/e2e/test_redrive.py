"""An alert the webhook refused is dead-lettered with its reason, and `alerts redrive`
delivers it once the webhook is fixed, with the same idempotency key."""

import asyncio
import json
import os
from pathlib import Path

import pytest

from detectors.testing import make_event
from pipeline import topics
from pipeline.broker import EmbeddedBroker
from pipeline.cli import main
from pipeline.dlq import read_dead_letters
from pipeline.produce import produce_lines
from pipeline.receiver import WebhookReceiver
from pipeline.testing import start_worker


def test_refused_alert_is_dead_lettered_then_redriven(
    broker: EmbeddedBroker, tmp_path: Path, capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    events = [make_event(ts=i, outcome="failure", user="fay").to_json() for i in range(5)]
    with WebhookReceiver(script=[400]) as refusing:
        worker = start_worker(broker.bootstrap, tmp_path, app_id="e2e-redrive",
                              webhook_url=refusing.url)
        try:
            asyncio.run(produce_lines(broker.bootstrap, events))
            dead = asyncio.run(read_dead_letters(broker.bootstrap, topics.ALERTS_DLQ,
                                                 expect=1, timeout_seconds=30))
        finally:
            worker.stop()
        port, url = refusing.port, refusing.url
        first_key = refusing.received[0].headers["idempotency-key"]
    assert len(dead) == 1 and dead[0].reason == "webhook: HTTP 400 (not retried)"
    record = json.loads(dead[0].value)
    assert record["destination"] == "webhook" and record["status"] == 400
    assert url not in dead[0].value.decode() and str(port) not in record["reason"]  # no secret

    with WebhookReceiver(port=port) as fixed:
        monkeypatch.setitem(os.environ, "ACCESSGUARD_WEBHOOK_URL", fixed.url)
        args = ["alerts", "redrive", "-b", broker.bootstrap, "--app-id", "e2e-redrive"]
        assert main(args) == 0
        assert "redelivered 1, failed again 0" in capsys.readouterr().out
        assert main(args) == 0  # nothing left: the group's offset moved past it
        assert "redelivered 0" in capsys.readouterr().out
        got = fixed.accepted()
    assert len(got) == 1 and got[0].headers["idempotency-key"] == first_key
    assert got[0].json()["data"]["alert"]["user"] == "fay"
