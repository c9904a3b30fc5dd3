"""Stream and replay agree: the same events through the Faust pipeline on the embedded broker
and through ``detectors.replay`` give the same set of alert ids (with per-user and per-IP
detectors both involved)."""

import asyncio
import json
from pathlib import Path

from detectors.config import default_config
from detectors.engine import Engine
from detectors.geo import GeoIP2FastLookup
from detectors.replay import replay
from detectors.scenario import ATTACKS, POLICY_ATTACKS, ScenarioSpec, generate
from pipeline import topics
from pipeline.broker import EmbeddedBroker
from pipeline.dlq import read_dead_letters
from pipeline.produce import produce_lines
from pipeline.testing import start_worker, wait_committed


def test_stream_and_replay_give_the_same_alert_ids(
    broker: EmbeddedBroker, tmp_path: Path
) -> None:
    attacks = tuple(a for a in ATTACKS if a not in POLICY_ATTACKS)
    events = [ev for ev, _ in generate(ScenarioSpec(users=40, hours=4, seed=11,
                                                    attacks=attacks))]
    lines = [ev.to_json() for ev in events]
    offline = replay(lines, Engine(default_config(), geo=GeoIP2FastLookup.load()))
    expected = {f.alert_id for f in offline.findings}
    assert {f.detector for f in offline.findings} >= {"failed_login_burst", "password_spray"}

    worker = start_worker(broker.bootstrap, tmp_path, app_id="e2e-equiv", partitions=2)
    try:
        asyncio.run(produce_lines(broker.bootstrap, lines))
        assert wait_committed(broker.bootstrap, "e2e-equiv", topics.EVENTS, len(lines)) == len(
            lines)
        streamed = asyncio.run(read_dead_letters(broker.bootstrap, topics.ALERTS,
                                                 expect=len(expected), timeout_seconds=30))
    finally:
        worker.stop()
    assert {json.loads(r.value)["alert_id"] for r in streamed} == expected
