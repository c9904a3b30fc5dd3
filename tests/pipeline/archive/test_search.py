from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import BinaryIO

from pipeline.archive import ArchiveWriter, LocalDirectoryBackend, SearchQuery, search
from pipeline.archive.keys import Ed25519PrivateKey

from .conftest import FakeClock, event_items, segments, write_archive


class CountingBackend(LocalDirectoryBackend):
    """Records which segment files were opened."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.opened: list[str] = []

    def open_read(self, name: str) -> BinaryIO:
        if name.endswith(".ndjson"):
            self.opened.append(name)
        return super().open_read(name)


def _found(d: Path, **query: str) -> list[dict]:
    return [json.loads(line) for line in search(LocalDirectoryBackend(d), SearchQuery(**query))]


def test_filters_by_user_action_and_time(
    tmp_path: Path, key: Ed25519PrivateKey, clock: FakeClock
) -> None:
    items = write_archive(tmp_path, key, clock, n=120)
    since, until = items[30][2], items[90][2]
    assert isinstance(since, datetime) and isinstance(until, datetime)
    hits = _found(
        tmp_path,
        user="user002",
        action="view",
        since=f"{since:%Y-%m-%dT%H:%M:%S.%fZ}",
        until=f"{until:%Y-%m-%dT%H:%M:%S.%fZ}",
    )
    expected = [
        i + 1
        for i, (_, data, when) in enumerate(items)
        if data["user"] == "user002" and data["action"] == "view" and since <= when < until  # type: ignore[operator]
    ]
    assert expected and [h["seq"] for h in hits] == expected


def test_alerts_by_detector_and_kind(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    with ArchiveWriter.open_dir(tmp_path, key) as w:
        w.append_many(event_items(10))
        w.append("alert", {"detector": "failed_login_burst", "user": "user001"}, 10.0)
        w.append("delivery", {"detector": "failed_login_burst", "outcome": "sent"}, 11.0)
    assert [h["kind"] for h in _found(tmp_path, detector="failed_login_burst")] == [
        "alert",
        "delivery",
    ]
    assert [h["kind"] for h in _found(tmp_path, detector="failed_login_burst", kind="alert")] == [
        "alert"
    ]
    assert _found(tmp_path, user="nobody") == []


def test_skips_segments_outside_the_time_range_by_their_seals(
    tmp_path: Path, key: Ed25519PrivateKey, clock: FakeClock
) -> None:
    items = write_archive(tmp_path, key, clock, n=120)
    last = items[-1][2]
    assert isinstance(last, datetime)
    backend = CountingBackend(tmp_path)
    hits = list(search(backend, SearchQuery(since=f"{last:%Y-%m-%dT%H:%M:%S.%fZ}")))
    assert len(hits) == 1
    assert backend.opened == [segments(tmp_path)[-1].name]
