from __future__ import annotations

import errno
import hashlib
import itertools
import json
import stat
from pathlib import Path

import pytest

from pipeline.archive import ArchiveError, ArchiveWriter, LocalDirectoryBackend, verify
from pipeline.archive.backend import Appendable
from pipeline.archive.keys import Ed25519PrivateKey, fingerprint
from pipeline.archive.records import parse_line
from pipeline.archive.seal import parse_seal, signature_ok

from .conftest import FakeClock, event_items, segments, write_archive


def _records(path: Path) -> list[dict]:
    out = []
    for seg in segments(path):
        for line in seg.read_bytes().splitlines():
            record, why = parse_line(line)
            assert record is not None, why
            out.append(
                {
                    "seq": record.seq,
                    "kind": record.kind,
                    "prev": record.prev,
                    "hash": record.hash,
                    "segment": seg.name,
                }
            )
    return out


def _seal(seg: Path) -> dict:
    seal, why = parse_seal(Path(f"{seg}.seal.json").read_bytes())
    assert seal is not None, why
    return seal


def test_rotates_by_size_and_seals_every_segment(
    tmp_path: Path, key: Ed25519PrivateKey, clock: FakeClock
) -> None:
    write_archive(tmp_path, key, clock, n=120, segment_bytes=6000)
    segs = segments(tmp_path)
    assert len(segs) > 3
    records = _records(tmp_path)
    assert [r["seq"] for r in records] == list(range(1, 121))
    assert all(b["prev"] == a["hash"] for a, b in itertools.pairwise(records))
    prev_seal = "0" * 64
    for seg in segs:
        assert seg.stat().st_size <= 6000
        assert stat.S_IMODE(seg.stat().st_mode) == 0o444
        seal_path = Path(f"{seg}.seal.json")
        assert stat.S_IMODE(seal_path.stat().st_mode) == 0o444
        seal = _seal(seg)
        assert seal["records"] == len(seg.read_bytes().splitlines())
        assert seal["prev_seal"] == prev_seal
        assert seal["key_fingerprint"] == fingerprint(key.public_key())
        assert signature_ok(seal, key.public_key())
        assert seal["min_time"] <= seal["first_time"] <= seal["max_time"]
        prev_seal = hashlib.sha256(seal_path.read_bytes()).hexdigest()


def test_rotates_by_age_of_the_segment(
    tmp_path: Path, key: Ed25519PrivateKey, clock: FakeClock
) -> None:
    items = event_items(30)
    with ArchiveWriter.open_dir(tmp_path, key, max_segment_seconds=60, clock=clock) as w:
        w.append_many(items[:10])
        clock.advance(59)
        assert not w.rotate_if_due()
        w.append_many(items[10:20])
        clock.advance(1)
        assert w.rotate_if_due()
        w.append_many(items[20:])
    segs = segments(tmp_path)
    assert [_seal(s)["records"] for s in segs] == [20, 10]
    assert segs[1].name.startswith("segment-20260302T090100Z-000002")


def test_append_many_is_all_or_nothing(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    with ArchiveWriter.open_dir(tmp_path, key) as w:
        w.append("config", {"path": "a.yaml"}, 0.0)
        with pytest.raises(ArchiveError, match="unknown record kind"):
            w.append_many([("event", {"x": 1}, 1.0), ("gossip", {}, 2.0)])
        assert w.seq == 1
    with pytest.raises(ArchiveError, match="closed"):
        w.append("config", {}, 0.0)


def test_reopening_continues_the_chain_and_refuses_another_key(
    tmp_path: Path, key: Ed25519PrivateKey, other_key: Ed25519PrivateKey, clock: FakeClock
) -> None:
    write_archive(tmp_path, key, clock, n=40)
    with ArchiveWriter.open_dir(tmp_path, key, clock=clock) as w:
        assert w.seq == 40
        w.append("silence", {"user": "alice", "until": "2026-03-02T10:00:00Z"}, 5.0)
    records = _records(tmp_path)
    assert records[-1]["seq"] == 41 and records[-1]["prev"] == records[-2]["hash"]
    assert verify(LocalDirectoryBackend(tmp_path)).ok
    with pytest.raises(ArchiveError, match="sealed with key"):
        ArchiveWriter.open_dir(tmp_path, other_key, clock=clock)


def _crash(w: ArchiveWriter) -> Path:
    """Stop a writer the way a killed process would: the open segment stays unsealed."""
    assert w._open is not None
    w._open.out.close()
    return w.backend.root / w._open.name  # type: ignore[attr-defined]


@pytest.mark.parametrize("tail", [b'{"data":{"action":"lo', b"", b"garbage line\n"])
def test_restart_after_a_crash_mid_segment(
    tmp_path: Path, key: Ed25519PrivateKey, clock: FakeClock, tail: bytes
) -> None:
    items = event_items(60)
    w = ArchiveWriter.open_dir(tmp_path, key, max_segment_bytes=8000, clock=clock)
    w.append_many(items[:45])
    interrupted = _crash(w)
    with interrupted.open("ab") as fh:
        fh.write(tail)
    kept = len(interrupted.read_bytes().splitlines()) - (1 if tail else 0)

    clock.advance(5)
    with ArchiveWriter.open_dir(tmp_path, key, max_segment_bytes=8000, clock=clock) as w2:
        assert w2.recovered == [interrupted.name]
        w2.append_many(items[45:])
    seal = _seal(interrupted)
    assert seal["recovered"] is True and seal["records"] == kept
    torn = Path(f"{interrupted}.torn")
    if tail:
        assert torn.read_bytes() == tail
        assert seal["quarantine"]["bytes"] == len(tail)
    else:
        assert not torn.exists() and seal["quarantine"] is None
    records = _records(tmp_path)
    assert [r["seq"] for r in records] == list(range(1, 62))
    recovery = [r for r in records if r["kind"] == "recovery"]
    assert len(recovery) == 1 and recovery[0]["seq"] == 46
    report = verify(LocalDirectoryBackend(tmp_path), key.public_key())
    assert report.ok, report.problems
    assert any("crash recovery" in note for note in report.notes)


def test_crash_with_a_damaged_line_quarantines_from_there(
    tmp_path: Path, key: Ed25519PrivateKey, clock: FakeClock
) -> None:
    w = ArchiveWriter.open_dir(tmp_path, key, clock=clock)
    w.append_many(event_items(10))
    seg = _crash(w)
    lines = seg.read_bytes().splitlines(keepends=True)
    lines[6] = lines[6].replace(b'"event"', b'"EVENT"')
    seg.write_bytes(b"".join(lines))
    with ArchiveWriter.open_dir(tmp_path, key, clock=clock) as w2:
        assert w2.seq == 7  # six kept + the recovery record
    seal = _seal(seg)
    assert seal["records"] == 6 and "line 7" in seal["quarantine"]["reason"]
    assert Path(f"{seg}.torn").read_bytes() == b"".join(lines[6:])
    assert verify(LocalDirectoryBackend(tmp_path)).ok


def test_crash_right_after_creating_a_segment(
    tmp_path: Path, key: Ed25519PrivateKey, clock: FakeClock
) -> None:
    write_archive(tmp_path, key, clock, n=30, segment_bytes=100_000)
    empty = tmp_path / "segment-20260302T100000Z-000002.ndjson"
    empty.write_bytes(b"")
    with ArchiveWriter.open_dir(tmp_path, key, clock=clock) as w:
        assert w.recovered == [empty.name] and w.seq == 31
    seal = _seal(empty)
    assert (seal["records"], seal["first_seq"], seal["last_seq"]) == (0, 31, 30)
    report = verify(LocalDirectoryBackend(tmp_path))
    assert report.ok, report.problems
    assert report.last_seq == 31


def test_an_unsealed_segment_that_is_not_the_newest_stops_the_writer(
    tmp_path: Path, key: Ed25519PrivateKey, clock: FakeClock
) -> None:
    write_archive(tmp_path, key, clock, n=80)
    newest = segments(tmp_path)[-1]
    Path(f"{newest}.seal.json").unlink()
    (tmp_path / "segment-20260302T100000Z-000099.ndjson").write_bytes(b"")
    with pytest.raises(ArchiveError, match="has no seal and is not the newest"):
        ArchiveWriter.open_dir(tmp_path, key, clock=clock)


def test_seal_files_are_canonical_json(archive_dir: Path) -> None:
    seal_path = Path(f"{segments(archive_dir)[0]}.seal.json")
    raw = seal_path.read_bytes()
    assert raw.endswith(b"}\n") and b" " not in raw
    assert json.loads(raw)["version"] == 1


class _FullDisk:
    """An appendable whose device fills up after ``ok_syncs`` syncs."""

    def __init__(self, inner: Appendable, ok_syncs: int) -> None:
        self.inner, self.ok_syncs = inner, ok_syncs

    def write(self, data: bytes) -> None:
        self.inner.write(data)

    def sync(self) -> None:
        if self.ok_syncs == 0:
            raise OSError(errno.ENOSPC, "No space left on device")
        self.ok_syncs -= 1
        self.inner.sync()

    def close(self) -> None:
        self.inner.close()


class _FullDiskBackend(LocalDirectoryBackend):
    def create_appendable(self, name: str) -> Appendable:
        return _FullDisk(super().create_appendable(name), ok_syncs=1)


def test_a_storage_failure_stops_the_writer_and_a_new_one_recovers(
    tmp_path: Path, key: Ed25519PrivateKey, clock: FakeClock
) -> None:
    items = event_items(30)
    w = ArchiveWriter(_FullDiskBackend(tmp_path), key, clock=clock)
    w.append_many(items[:10])
    with pytest.raises(ArchiveError, match="append failed: No space left on device"):
        w.append_many(items[10:20])
    with pytest.raises(ArchiveError, match="closed"):
        w.append_many(items[20:])
    assert w._open is not None
    w._open.out.inner.close()  # type: ignore[attr-defined]
    with ArchiveWriter.open_dir(tmp_path, key, clock=clock) as w2:
        assert len(w2.recovered) == 1
        w2.append_many(items[20:])
    assert verify(LocalDirectoryBackend(tmp_path), key.public_key()).ok
