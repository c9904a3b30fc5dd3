"""``accessguard ingest`` against the embedded broker: events keyed by user, bad lines
dead-lettered with their reason, a summary at the end."""

import asyncio
import json
from pathlib import Path

import pytest

from detectors.events import AccessEvent
from detectors.sources import SourceOptions, Summary, parse_source
from pipeline import topics
from pipeline.broker import EmbeddedBroker
from pipeline.cli import main
from pipeline.dlq import read_dead_letters
from pipeline.kafka import ensure_topics

FIXTURES = Path(__file__).resolve().parents[1] / "detectors" / "sources" / "fixtures"


def read_topic(broker: EmbeddedBroker, topic: str, expect: int) -> list:
    return asyncio.run(read_dead_letters(broker.bootstrap, topic, expect=expect,
                                         timeout_seconds=20))


def test_sshd_log_becomes_events_keyed_by_user(
    broker: EmbeddedBroker, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(ensure_topics(broker.bootstrap, topics.ALL, partitions=2))
    log = FIXTURES / "auth.log"
    expected = Summary()
    events = [e for e in expected.track(parse_source(
        "sshd", log.read_text().splitlines(), SourceOptions(year=2026)))
        if isinstance(e, AccessEvent)]
    assert main(["ingest", "--format", "sshd", "--year", "2026", str(log),
                 "-b", broker.bootstrap]) == 0
    assert capsys.readouterr().out.strip() == expected.format()
    got = read_topic(broker, topics.EVENTS, len(events))
    assert len(got) == len(events) > 0
    for record in got:
        assert record.key == json.loads(record.value)["user"].encode()
    assert {json.loads(r.value)["event_id"] for r in got} == {e.event_id for e in events}


def test_bad_ndjson_lines_are_dead_lettered_with_line_numbers(
    broker: EmbeddedBroker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    asyncio.run(ensure_topics(broker.bootstrap, topics.ALL, partitions=2))
    good = ('{"event_id":"g1","timestamp":"2026-03-02T09:00:00Z","user":"ann",'
            '"action":"login","outcome":"success"}')
    f = tmp_path / "events.ndjson"
    f.write_text(f"{good}\nnot json\n{{\"event_id\": 3}}\n")
    assert main(["ingest", "-f", "ndjson", str(f), "-b", broker.bootstrap]) == 0
    out = capsys.readouterr().out
    assert "parsed 1 event" in out and "2 bad" in out
    dead = read_topic(broker, topics.EVENTS_DLQ, 2)
    assert sorted(d.headers["accessguard-source-line"] for d in dead) == ["2", "3"]
    assert {d.value for d in dead} == {b"not json", b'{"event_id": 3}'}
    assert all(d.headers["accessguard-source-topic"] == "file:events.ndjson" for d in dead)
    assert len(read_topic(broker, topics.EVENTS, 1)) == 1


def test_missing_file_and_follow_on_stdin_are_usage_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["ingest", "-f", "sshd", str(tmp_path / "none.log")]) == 2
    assert main(["ingest", "-f", "sshd", "--follow", "-"]) == 2
    err = capsys.readouterr().err
    assert "none.log: cannot read" in err and "--follow needs a file" in err
