"""Offline replay: event-time order, invalid lines reported and skipped, stream alert ids."""

import json
import random

import pytest

from detectors.config import Config, default_config
from detectors.engine import Engine
from detectors.replay import (
    InvalidLine,
    ReplayError,
    ReplaySummary,
    read_history,
    replay,
    replay_iter,
)
from detectors.scenario import ATTACKS, ScenarioSpec, generate
from detectors.testing import make_event

BURST3 = Config.model_validate({"detectors": {"failed_login_burst": {"threshold": 3}}})


def line(ts: float, eid: str, **fields: object) -> str:
    return make_event(ts=ts, event_id=eid, outcome="failure", **fields).to_json().decode()


def test_events_run_in_event_time_order_with_ties_in_input_order() -> None:
    lines = [line(20, "c"), line(0, "a2"), line(10, "b"), line(0, "a1")]
    summary = ReplaySummary()
    order = [ev.event_id for ev in read_history(lines, summary)]
    assert order == ["a2", "a1", "b", "c"]
    found = replay(lines, Engine(BURST3)).findings
    assert [f.event_ids for f in found] == [("a2", "a1", "b")]


def test_shuffled_history_gives_what_the_sorted_one_gives() -> None:
    labelled = generate(ScenarioSpec(users=20, hours=2, attacks=ATTACKS[:8]))
    lines = [ev.to_json() for ev, _ in labelled]
    shuffled = lines[:]
    random.Random(3).shuffle(shuffled)
    engine = Engine(default_config())
    expected = [f.alert_id for f in Engine(default_config()).run(ev for ev, _ in labelled)]
    assert len(expected) >= 8
    assert [f.alert_id for f in replay(shuffled, engine).findings] == expected


def test_invalid_lines_are_reported_with_line_numbers_and_skipped() -> None:
    seen: list[InvalidLine] = []
    lines = [
        line(0, "a"),
        "{not json",
        "",
        json.dumps({"event_id": "x", "timestamp": "2026-03-02T09:00:00", "user": "u",
                    "action": "login", "outcome": "failure"}),
        line(5, "b"),
        "[1, 2]",
        line(9, "c"),
    ]
    result = replay(lines, Engine(BURST3), on_invalid=seen.append)
    assert [f.event_ids for f in result.findings] == [("a", "b", "c")]
    assert [bad.line for bad in result.invalid] == [2, 4, 6]
    assert result.invalid == seen
    assert result.invalid[0].reason.startswith("not JSON")
    assert "timezone" in result.invalid[1].reason
    assert str(result.invalid[2]) == "line 6: a JSON array is not an event object"
    s = result.summary
    assert (s.events_read, s.invalid, s.valid) == (6, 3, 3)
    assert s.per_detector["failed_login_burst"] == 1 and s.findings == 1


def test_bytes_lines_from_a_file_work_too(tmp_path) -> None:
    path = tmp_path / "h.ndjson"
    path.write_text("\n".join(line(t, f"e{t}") for t in (0, 1, 2)) + "\n\n")
    with path.open("rb") as fh:
        result = replay(fh, Engine(BURST3))
    assert result.summary.events_read == 3 and len(result.findings) == 1


def test_replay_alert_ids_equal_engine_run_in_order() -> None:
    labelled = generate(ScenarioSpec(users=30, hours=3, attacks=ATTACKS[:8]))
    events = [ev for ev, _ in labelled]
    expected = list(Engine(default_config()).run(events))
    got = replay([ev.to_json().decode() for ev in events], Engine(default_config())).findings
    assert got == expected
    assert [f.alert_id for f in got] == [f.alert_id for f in expected]


def test_assume_sorted_streams_in_input_order_and_counts_going_back() -> None:
    lines = [line(0, "a"), line(10, "b"), line(5, "late"), line(12, "c")]
    summary = ReplaySummary()
    consumed = []

    def feed():
        for x in lines:
            consumed.append(x)
            yield x

    it = replay_iter(feed(), Engine(BURST3), summary, assume_sorted=True)
    first = next(it)
    assert first.event_ids == ("a", "late", "b")  # the window places it by event time
    assert len(consumed) == 3  # the finding came before the rest was read
    assert list(it) == []
    assert summary.out_of_order == 1


def test_too_many_events_to_sort_is_an_error_not_a_crash() -> None:
    lines = [line(t, f"e{t}") for t in range(5)]
    with pytest.raises(ReplayError, match="more than 4 events"):
        replay(lines, Engine(BURST3), max_events=4)
    assert len(replay(lines, Engine(BURST3), max_events=4, assume_sorted=True).findings) == 1


def test_kept_invalid_lines_are_capped_but_all_counted(monkeypatch) -> None:
    monkeypatch.setattr("detectors.replay.MAX_KEPT_INVALID", 2)
    result = replay(["x"] * 5, Engine(BURST3))
    assert len(result.invalid) == 2 and result.summary.invalid == 5


def test_the_collector_is_back_as_it_was_after_a_sorted_replay() -> None:
    import gc

    assert gc.isenabled()
    lines = [line(t, f"g{t}") for t in (2, 1, 0)]
    it = replay_iter(lines, Engine(BURST3), ReplaySummary())
    next(it)
    assert gc.isenabled() and gc.get_freeze_count() > 0  # the history is frozen meanwhile
    assert list(it) == []
    assert gc.get_freeze_count() == 0
    with pytest.raises(ReplayError):
        replay(lines, Engine(BURST3), max_events=1)
    assert gc.isenabled() and gc.get_freeze_count() == 0
