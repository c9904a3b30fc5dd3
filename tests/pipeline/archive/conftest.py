"""Shared factories for archive tests: fixed keys, a hand-driven clock, event records."""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from detectors.scenario import ScenarioSpec, generate
from pipeline.archive import ArchiveWriter, event_data
from pipeline.archive.keys import Ed25519PrivateKey
from pipeline.archive.writer import Item


class FakeClock:
    """Wall clock the test moves by hand."""

    def __init__(self, start: datetime = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes(range(32)))


@pytest.fixture
def other_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.from_private_bytes(bytes(range(100, 132)))


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def event_items(n: int, users: int = 5, seed: int = 7) -> list[Item]:
    """``n`` realistic event records from the seeded scenario generator."""
    events = [ev for ev, _ in generate(ScenarioSpec(users=users, hours=4.0, seed=seed))]
    assert len(events) >= n
    return [("event", event_data(ev), ev.timestamp) for ev in events[:n]]


def write_archive(
    path: Path,
    key: Ed25519PrivateKey,
    clock: FakeClock,
    n: int = 120,
    segment_bytes: int = 6000,
) -> list[Item]:
    items = event_items(n)
    with ArchiveWriter.open_dir(path, key, max_segment_bytes=segment_bytes, clock=clock) as w:
        for i in range(0, n, 25):
            w.append_many(items[i : i + 25])
            clock.advance(1)
    return items


def segments(path: Path) -> list[Path]:
    return sorted(path.glob("segment-*.ndjson"))


def rewrite(path: Path, data: bytes) -> None:
    """Tamper with a (read-only) archive file as an intruder with write access would."""
    os.chmod(path, 0o644)
    path.write_bytes(data)
    os.chmod(path, 0o444)


@pytest.fixture
def archive_dir(tmp_path: Path, key: Ed25519PrivateKey, clock: FakeClock) -> Iterator[Path]:
    d = tmp_path / "archive"
    write_archive(d, key, clock)
    yield d
