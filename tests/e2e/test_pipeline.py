"""The whole pipeline on the embedded broker with a real local webhook receiver."""

import asyncio
import json
from pathlib import Path

from detectors.config import default_config
from detectors.engine import Engine
from detectors.scenario import ScenarioSpec, generate
from detectors.testing import make_event
from pipeline import topics
from pipeline.broker import EmbeddedBroker
from pipeline.dlq import read_dead_letters
from pipeline.produce import produce_lines
from pipeline.receiver import Received, WebhookReceiver
from pipeline.testing import start_worker, wait_committed


def alert_of(r: Received) -> dict:
    body = r.json()
    assert body["type"] == "alert.trigger"
    return body["data"]["alert"]  # type: ignore[no-any-return]


def send(broker: EmbeddedBroker, lines: list[bytes], *, validate: bool = True) -> None:
    summary = asyncio.run(produce_lines(broker.bootstrap, lines, validate=validate))
    assert summary.rejected == [] and summary.sent == len(lines)


def test_planted_attack_gives_exactly_the_expected_alert_and_benign_traffic_none(
    broker: EmbeddedBroker, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    # One partition keeps order, so the attack (planted late in event time and produced last)
    # proves every benign event before it was processed without alerting.
    events = [ev for ev, _ in generate(ScenarioSpec(users=40, hours=2, seed=3))]
    expected = {f.alert_id for f in Engine(default_config()).run(events)}
    assert len(expected) == 1
    worker = start_worker(broker.bootstrap, tmp_path, app_id="e2e-1",
                          webhook_url=receiver.url, partitions=1)
    try:
        send(broker, [ev.to_json() for ev in events])
        got = receiver.wait_for(1, 30)
        wait_committed(broker.bootstrap, "e2e-1", topics.EVENTS, len(events))
    finally:
        assert worker.stop() == 0
    assert {alert_of(r)["alert_id"] for r in got} == expected
    assert len(receiver.received) == 1
    alert = alert_of(got[0])
    assert alert["user"] == "user007" and alert["source_ips"] == ["198.51.100.66"]
    assert alert["evidence"] == {"count": 5, "threshold": 5, "window_seconds": 300.0,
                                 "span_seconds": 30.0}
    assert len(alert["event_ids"]) == 5
    assert got[0].headers["idempotency-key"] == alert["alert_id"]


def test_malformed_messages_are_dead_lettered_and_valid_ones_still_alert(
    broker: EmbeddedBroker, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    good = [make_event(ts=i * 10, outcome="failure", user="bob").to_json() for i in range(5)]
    huge = json.dumps({"event_id": "x", "pad": "y" * (1024 * 1024)}).encode()
    bad = [b"\xff\xfe garbage", b"[1, 2]", b'{"event_id": "e", "user": "bob"}',
           b'{"event_id":"n","timestamp":"2026-03-02T09:00:00","user":"bob","action":"login",'
           b'"outcome":"failure"}', huge]
    interleaved = [x for pair in zip(good, bad, strict=True) for x in pair]
    worker = start_worker(broker.bootstrap, tmp_path, app_id="e2e-2", webhook_url=receiver.url)
    try:
        send(broker, interleaved, validate=False)
        got = receiver.wait_for(1, 30)
        dead = asyncio.run(read_dead_letters(broker.bootstrap, topics.EVENTS_DLQ, expect=5,
                                             timeout_seconds=30))
    finally:
        worker.stop()
    assert len(got) == 1 and alert_of(got[0])["user"] == "bob"
    reasons = {d.value: d.reason for d in dead}
    assert len(dead) == 5 and set(reasons) == set(bad)  # the original bytes, untouched
    assert reasons[bad[0]].startswith("not UTF-8")
    assert reasons[bad[1]] == "a JSON array is not an event object"
    assert "timestamp: Field required" in reasons[bad[2]]
    assert reasons[bad[3]] == "timestamp: Input should have timezone info"
    assert reasons[huge] == f"message is {len(huge)} bytes, over the 1048576-byte limit"
    for d in dead:
        assert d.headers["accessguard-source-topic"] == topics.EVENTS
        assert int(d.headers["accessguard-source-offset"]) >= 0


def test_state_is_recovered_from_the_changelog_after_a_restart(
    broker: EmbeddedBroker, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    failures = [make_event(ts=i * 20, outcome="failure", user="carol") for i in range(5)]
    worker = start_worker(broker.bootstrap, tmp_path, app_id="e2e-3", webhook_url=receiver.url)
    try:
        send(broker, [ev.to_json() for ev in failures[:4]])
        assert wait_committed(broker.bootstrap, "e2e-3", topics.EVENTS, 4) == 4
    finally:
        assert worker.stop() == 0
    assert receiver.received == []
    assert (tmp_path / "data" / "models" / "behaviour_anomaly.ckpt").is_file()
    worker = start_worker(broker.bootstrap, tmp_path, app_id="e2e-3", webhook_url=receiver.url)
    try:
        assert worker.wait_for("models.restored", 1)["models"] == ["behaviour_anomaly"]
        send(broker, [failures[4].to_json()])
        got = receiver.wait_for(1, 30)
    finally:
        worker.stop()
    assert len(got) == 1
    assert alert_of(got[0])["event_ids"] == [ev.event_id for ev in failures]


def test_a_resent_event_is_not_counted_twice(
    broker: EmbeddedBroker, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    four = [make_event(ts=i * 20, outcome="failure", user="dave") for i in range(4)]
    lines = [ev.to_json() for ev in four]
    worker = start_worker(broker.bootstrap, tmp_path, app_id="e2e-4", webhook_url=receiver.url,
                          partitions=1)
    try:
        send(broker, [*lines, lines[-1]])  # a producer retry of the 4th failure
        sentinel = [make_event(ts=i, outcome="failure", user="erin").to_json() for i in range(5)]
        send(broker, sentinel)
        got = receiver.wait_for(1, 30)
    finally:
        worker.stop()
    assert [alert_of(r)["user"] for r in got] == ["erin"]
