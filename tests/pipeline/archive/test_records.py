from __future__ import annotations

import base64
import hashlib
import json
from datetime import datetime

import pytest

from detectors.testing import make_event
from pipeline.archive import ArchiveError, dead_letter_data, event_data
from pipeline.archive.records import GENESIS, canonical, format_time, make_line, parse_line


def test_line_is_canonical_content_plus_trailing_hash() -> None:
    line, digest = make_line(7, "2026-03-02T09:00:00.000000Z", "event", {"b": 1, "a": "é"}, GENESIS)
    assert line.endswith(b"\n")
    content = line[:-76] + b"}"
    assert content == canonical(
        {
            "data": {"a": "é", "b": 1},
            "kind": "event",
            "prev": GENESIS,
            "seq": 7,
            "time": "2026-03-02T09:00:00.000000Z",
        }
    )
    assert hashlib.sha256(content).hexdigest() == digest
    assert json.loads(line)["hash"] == digest
    record, reason = parse_line(line[:-1])
    assert reason is None and record is not None
    assert (record.seq, record.data, record.hash) == (7, {"a": "é", "b": 1}, digest)


@pytest.mark.parametrize(
    ("mutate", "reason"),
    [
        (lambda b: b.replace(b'"seq":7', b'"seq":8'), "hash does not match"),
        (lambda b: b[:-5], "no trailing hash"),
        (lambda b: b.replace(b'"kind":"event"', b'"kind" :"event"'), "hash does not match"),
    ],
)
def test_parse_line_rejects_changed_bytes(mutate: object, reason: str) -> None:
    line, _ = make_line(7, "2026-03-02T09:00:00.000000Z", "event", {"x": 1}, GENESIS)
    record, why = parse_line(mutate(line[:-1]))  # type: ignore[operator]
    assert record is None and why is not None and reason in why


def test_times_are_fixed_width_utc_and_naive_times_refused() -> None:
    assert format_time(datetime.fromisoformat("2026-03-02T10:00:00+01:00")) == (
        "2026-03-02T09:00:00.000000Z"
    )
    with pytest.raises(ArchiveError, match="no UTC offset"):
        format_time(datetime(2026, 3, 2, 9))


def test_data_helpers() -> None:
    ev = make_event(user="bob", resource="db/prod/x")
    assert event_data(ev)["user"] == "bob" and "roles" not in event_data(ev)
    dl = dead_letter_data(b"\xff{not json", "not UTF-8", topic="t", offset=3)
    assert base64.b64decode(dl["raw_b64"]) == b"\xff{not json"
    assert dl["reason"] == "not UTF-8" and dl["offset"] == 3


def test_non_json_data_is_an_archive_error() -> None:
    with pytest.raises(ArchiveError, match="not plain JSON"):
        make_line(1, "2026-03-02T09:00:00.000000Z", "event", {"x": float("nan")}, GENESIS)
