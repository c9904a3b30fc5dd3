from pathlib import Path

import pytest

from detectors.errors import SourceError
from detectors.events import AccessEvent, parse_event
from detectors.sources import FORMATS, SourceOptions, Summary, parse_source, to_ndjson
from tests.detectors.sources.support import FIXTURES, events, read_lines, run, skips

SAMPLES = {
    "cloudtrail": "otrf-aws-cloudtrail/ec2_proxy_s3_exfiltration_2020-09-14011940.json",
    "k8s-audit": "falco-k8s-audit/k8s_audit_events_combined.jsonl",
    "github-audit": "github-audit-sentinel/Github_sample_logs.json",
}


def test_formats() -> None:
    assert list(FORMATS) == ["ndjson", "sshd", "cloudtrail", "k8s-audit", "github-audit"]


def test_unknown_format_is_an_error() -> None:
    with pytest.raises(SourceError, match="unknown format 'syslog': choose one of ndjson"):
        parse_source("syslog", [])


@pytest.mark.parametrize("fmt", list(SAMPLES))
def test_ndjson_output_round_trips_and_replays_identically(fmt: str, data_dir: Path) -> None:
    lines = read_lines(data_dir / SAMPLES[fmt])
    first = list(to_ndjson(parse_source(fmt, lines)))
    assert first == list(to_ndjson(parse_source(fmt, lines)))
    assert all(line.endswith("\n") for line in first)
    again = events(run("ndjson", first))
    assert [e.to_json().decode() + "\n" for e in again] == first
    distinct = {"k8s-audit": 47}.get(fmt, len(again))  # see test_k8s_audit: reused auditIDs
    assert len({e.event_id for e in again}) == distinct


def test_sshd_output_round_trips_through_the_contract() -> None:
    found = events(run("sshd", read_lines(FIXTURES / "auth.log"), year=2026))
    for line, ev in zip(to_ndjson(found), found, strict=True):
        assert parse_event(line) == ev


def test_ndjson_reports_invalid_events() -> None:
    out = run("ndjson", ['{"event_id": "x"}\n', "\n"])
    assert [(s.reason, s.bad) for s in skips(out)] == [
        ("ndjson: invalid event", True), ("blank line", False)]
    assert "timestamp: Field required" in skips(out)[0].detail


def test_summary_counts_a_run() -> None:
    summary = Summary()
    items = list(summary.track(parse_source(
        "sshd", read_lines(FIXTURES / "auth.log"), SourceOptions(year=2026))))
    assert summary.parsed == sum(isinstance(i, AccessEvent) for i in items) == 20
    assert summary.bad == 1 and sum(summary.skipped.values()) == 30
    assert summary.as_dict()["skipped"]["sshd: connection end"] == 5
    assert summary.format().startswith("parsed 20 events; skipped 30 (1 bad): 6 sshd: connection")


def test_broken_pretty_printed_document_is_one_bad_skip() -> None:
    out = run("github-audit", ["[\n", '  {"action": "user.login",\n', "  oops\n"])
    (skip,) = skips(out)
    assert (skip.line_no, skip.reason, skip.bad) == (1, "github-audit: not JSON", True)
    assert skip.raw == '[\n  {"action": "user.login",\n  oops'


def test_github_api_array_is_unpacked() -> None:
    doc = '[{"@timestamp": 1, "_document_id": "a", "action": "user.login", "actor": "o"},\n' \
          ' {"@timestamp": 2, "_document_id": "b", "action": "user.logout", "actor": "o"}]'
    assert [e.event_id for e in events(run("github-audit", doc.splitlines()))] == [
        "github:a", "github:b"]
