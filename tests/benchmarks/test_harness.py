"""The pure parts of the benchmark scripts: no broker, no timing assertions."""

from __future__ import annotations

import json
from pathlib import Path

from benchmarks.harness import (
    batch_by_user,
    measure_state,
    report_line,
    scenario_events,
    verdicts,
)
from benchmarks.run import latencies_ms, percentile, summarize_profile
from benchmarks.soak import cycles, flat_verdict
from detectors.events import parse_event
from pipeline.receiver import Received
from pipeline.records import split_records


def test_state_size_covers_every_user_and_key_kind() -> None:
    size = measure_state(1000, hours=1.0, template_users=40)
    assert size.users == 1000
    assert set(size.total_bytes) == {"user", "source_ip"}  # the default config's key kinds
    assert 0 < size.keys["user"] <= 1000
    assert size.bytes_per_user == sum(size.total_bytes.values()) / 1000
    assert size.max_user_bytes >= size.total_bytes["user"] / size.keys["user"]
    again = measure_state(1000, hours=1.0, template_users=40)
    assert again.total_bytes == size.total_bytes  # seeded: same traffic, same sizes


def test_batched_messages_hold_one_users_events_in_order() -> None:
    events = scenario_events(30, 2.0)
    messages = batch_by_user(events, 20)
    lines = 0
    for key, value in messages:
        records = [parse_event(r) for r in split_records(value)]
        assert 1 <= len(records) <= 20
        assert {r.user for r in records} == {key.decode()}
        assert [r.ts for r in records] == sorted(r.ts for r in records)
        lines += len(records)
    assert lines == len(events)


def test_report_is_one_json_line_with_rounded_figures() -> None:
    line = report_line({"pipeline_eps": 1234.56789, "latency_samples": 12, "ok": None})
    assert "\n" not in line
    assert json.loads(line) == {"latency_samples": 12, "ok": None, "pipeline_eps": 1234.568}


def test_verdicts_compare_with_the_issue_targets() -> None:
    fig = {"pipeline_eps": 900.0, "naive_faust_eps": 400.0, "bare_faust_eps": 1000.0,
           "latency_p50_ms": 150.0, "latency_p99_ms": 900.0, "state_bytes_per_user": 300.0,
           "replay_eps": 10_000.0, "two_worker_speedup": 1.8}
    got = {name: met for name, _, met in verdicts(fig)}
    assert got == {"pipeline_eps vs naive": True, "pipeline_eps vs bare": True,
                   "latency_p50_ms": False, "latency_p99_ms": True,
                   "state_bytes_per_user": True, "replay_eps": False,
                   "two_worker_speedup": True, "ready_seconds": None}
    # a faster baseline on Faust's stock consumer is the one compared with
    fig.update(naive_faust_stock_eps=500.0, bare_faust_stock_eps=1200.0)
    got = {name: met for name, _, met in verdicts(fig)}
    assert not got["pipeline_eps vs naive"] and not got["pipeline_eps vs bare"]


def test_latency_matches_alerts_by_event_id_once_per_alert() -> None:
    def post(alert_id: str, ids: list[str]) -> Received:
        body = {"type": "trigger", "data": {"alert": {"alert_id": alert_id, "event_ids": ids}}}
        return Received("/hook", {}, json.dumps(body).encode(), 200)

    sent_at = {"a-1": 10.0, "a-2": 10.5, "b-1": 20.0}
    arrivals = [(10.6, post("A", ["a-1", "a-2"])), (11.0, post("A", ["a-1", "a-2"])),
                (20.2, post("B", ["b-1", "zzz"])), (30.0, post("C", ["unknown"]))]
    got = latencies_ms(arrivals, sent_at)
    assert [round(x) for x in got] == [100, 200]
    assert percentile([5.0, 1.0, 3.0], 0.5) == 3.0


def test_profile_summary_ranks_functions_by_own_time(tmp_path: Path) -> None:
    raw = tmp_path / "prof.txt"
    raw.write_text("main (a/run.py:1);parse (d/events.py:9) 30\n"
                   "main (a/run.py:1);step (d/engine.py:5) 10\n")
    text = summarize_profile(raw)
    assert "40 samples" in text
    assert text.index("parse (d/events.py)") < text.index("step (d/engine.py)")
    assert "75.0%" in text


def test_soak_cycles_renew_ids_and_move_time_forward() -> None:
    events = scenario_events(5, 1.0)
    stream = cycles(events)
    first = [next(stream) for _ in range(len(events))]
    second = [next(stream) for _ in range(len(events))]
    a, b = parse_event(first[0][1]), parse_event(second[0][1])
    assert a.user == b.user and a.event_id != b.event_id and b.ts > events[-1].ts


def test_flat_memory_verdict_uses_the_first_sample_after_warmup() -> None:
    assert flat_verdict([(0, 50), (10, 100), (20, 105)], 10) == (True, 0.05, 100)
    assert flat_verdict([(0, 50), (10, 100), (20, 111)], 10)[0] is False


def test_the_scripts_doctests_pass() -> None:
    import doctest

    import benchmarks.harness
    import benchmarks.soak

    for module in (benchmarks.harness, benchmarks.soak):
        result = doctest.testmod(module)
        assert result.attempted > 0 and result.failed == 0


def test_profile_summary_keeps_only_the_main_thread(tmp_path: Path) -> None:
    raw = tmp_path / "prof.txt"
    raw.write_text("thread (1): MainThread;main (a/run.py:1);parse (d/events.py:9) 3\n"
                   "thread (2): Thread-1;poll (x/sel.py:2) 97\n")
    text = summarize_profile(raw)
    assert "3 samples" in text and "poll" not in text


def test_unalerted_bursts_count_as_lower_bounds() -> None:
    from benchmarks.run import missed_bursts

    body = {"type": "trigger", "data": {"alert": {"alert_id": "A", "event_ids": ["a-4"]}}}
    arrivals = [(11.0, Received("/hook", {}, json.dumps(body).encode(), 200))]
    sent_at = {"a-4": 10.0, "b-4": 12.0}
    assert missed_bursts(arrivals, sent_at, ["a-4", "b-4"], now=15.0) == [3000.0]


def test_the_latency_receiver_child_lines_become_stamped_arrivals() -> None:
    from types import SimpleNamespace

    from benchmarks.run import receiver_arrivals

    body = {"type": "trigger", "data": {"alert": {"alert_id": "A", "event_ids": ["a-1"]}}}
    child = SimpleNamespace(lines=[
        "receiver.ready http://127.0.0.1:1234/hook\n",
        "arrival " + json.dumps({"at": 10.25, "body": json.dumps(body)}) + "\n",
        "some other output\n",
    ])
    arrivals = receiver_arrivals(child)  # type: ignore[arg-type]
    assert [(at, r.at, r.json()["data"]["alert"]["alert_id"]) for at, r in arrivals] == [
        (10.25, 10.25, "A")]
    assert [round(x) for x in latencies_ms(arrivals, {"a-1": 10.0})] == [250]


def test_the_receiver_stamps_each_request_as_it_comes_in() -> None:
    import time

    import httpx

    from pipeline.receiver import WebhookReceiver

    with WebhookReceiver() as receiver:
        before = time.monotonic()
        httpx.post(receiver.url, content=b"{}")
        after = time.monotonic()
        got = receiver.wait_for(1, 5)
    assert len(got) == 1 and before <= got[0].at <= after
