"""Randomised tampering: every change to a sealed archive is found, and named correctly."""

from __future__ import annotations

import base64
import hashlib
import json
import random
import re
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from pipeline.archive import LocalDirectoryBackend, verify
from pipeline.archive.keys import Ed25519PrivateKey
from pipeline.archive.records import canonical
from pipeline.archive.seal import sign_seal

from .conftest import FakeClock, rewrite, segments, write_archive

KEY = Ed25519PrivateKey.from_private_bytes(bytes(range(32)))
INTRUDER = Ed25519PrivateKey.from_private_bytes(bytes(range(100, 132)))
SEED = 20260302
CASES_PER_TAMPER = 16

Tamper = Callable[[Path, random.Random], str]


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    d = tmp_path_factory.mktemp("base") / "archive"
    write_archive(d, KEY, FakeClock(), n=150, segment_bytes=6000)
    assert len(segments(d)) >= 8
    return d


def _lines(seg: Path) -> list[bytes]:
    return seg.read_bytes().splitlines(keepends=True)


def _seal_path(seg: Path) -> Path:
    return Path(f"{seg}.seal.json")


def _line_of(data: bytes | bytearray, offset: int) -> int:
    return data.count(b"\n", 0, offset) + 1


def flip_byte(d: Path, rng: random.Random) -> str:
    seg = rng.choice(segments(d))
    data = bytearray(seg.read_bytes())
    at = rng.randrange(len(data))
    data[at] ^= rng.randrange(1, 256)
    rewrite(seg, bytes(data))
    return rf"segment {re.escape(seg.name)} lines? {_line_of(data, at)}\b.*record modified"


def flip_seal_byte(d: Path, rng: random.Random) -> str:
    seal = _seal_path(rng.choice(segments(d)))
    data = bytearray(seal.read_bytes())
    data[rng.randrange(len(data))] ^= rng.randrange(1, 256)
    rewrite(seal, bytes(data))
    return (
        rf"seal {re.escape(seal.name)} (is unreadable|has a bad signature|carries a public key"
        r"|is signed with another key|is for|starts at seq)"
    )


def delete_line(d: Path, rng: random.Random) -> str:
    seg = rng.choice(segments(d))
    lines = _lines(seg)
    at = rng.randrange(len(lines))
    del lines[at]
    rewrite(seg, b"".join(lines))
    if at == len(lines):
        return rf"segment {re.escape(seg.name)} is truncated: .*1 record\(s\) deleted at the end"
    return rf"segment {re.escape(seg.name)} line {at + 1}: 1 record\(s\) deleted before this line"


def insert_line(d: Path, rng: random.Random) -> str:
    source = _lines(rng.choice(segments(d)))
    seg = rng.choice(segments(d))
    lines = _lines(seg)
    lines.insert(rng.randrange(len(lines) + 1), rng.choice(source))
    rewrite(seg, b"".join(lines))
    return rf"segment {re.escape(seg.name)} line \d+: inserted record"


def reorder_lines(d: Path, rng: random.Random) -> str:
    seg = rng.choice([s for s in segments(d) if len(_lines(s)) > 1])
    lines = _lines(seg)
    i, j = sorted(rng.sample(range(len(lines)), 2))
    lines[i], lines[j] = lines[j], lines[i]
    rewrite(seg, b"".join(lines))
    return rf"segment {re.escape(seg.name)}: records reordered \(line {i + 2} "


def truncate(d: Path, rng: random.Random) -> str:
    seg = rng.choice(segments(d))
    data = seg.read_bytes()
    rewrite(seg, data[: rng.randrange(len(data))])
    return rf"segment {re.escape(seg.name)} is truncated"


def remove_segment(d: Path, rng: random.Random) -> str:
    seg = rng.choice(segments(d))
    seg.unlink()
    return rf"segment {re.escape(seg.name)} is missing \(its seal exists\)"


def remove_seal(d: Path, rng: random.Random) -> str:
    segs = segments(d)
    at = rng.randrange(len(segs))
    _seal_path(segs[at]).unlink()
    if at == len(segs) - 1:
        return rf"segment {re.escape(segs[at].name)} is read-only but has no seal"
    return rf"segment {re.escape(segs[at].name)} has no seal \(only the newest may be open\)"


def remove_segment_and_seal(d: Path, rng: random.Random) -> str:
    segs = segments(d)
    at = rng.randrange(len(segs) - 1)  # cutting off the newest pair leaves no trace (documented)
    _seal_path(segs[at]).unlink()
    segs[at].unlink()
    return rf"segment #{at + 1:06d} is missing"


def _resign(d: Path, rng: random.Random, key: Ed25519PrivateKey, change: dict) -> Path:
    seal_path = _seal_path(rng.choice(segments(d)))
    seal = json.loads(seal_path.read_bytes())
    body = {
        k: v for k, v in seal.items() if k not in ("signature", "public_key", "key_fingerprint")
    }
    body.update(change)
    rewrite(seal_path, sign_seal(body, key))
    return seal_path


def resign_with_other_key(d: Path, rng: random.Random) -> str:
    seal = _resign(d, rng, INTRUDER, {"sealed_at": "2026-03-02T12:00:00.000000Z"})
    return rf"seal {re.escape(seal.name)} is signed with another key"


def modify_seal_field(d: Path, rng: random.Random) -> str:
    seal_path = _seal_path(rng.choice(segments(d)))
    seal = json.loads(seal_path.read_bytes())
    field = rng.choice(["records", "last_time", "sha256", "recovered", "sealed_at"])
    seal[field] = {
        "records": 1,
        "last_time": "2026-03-01T00:00:00.000000Z",
        "sha256": "f" * 64,
        "recovered": True,
        "sealed_at": "x",
    }[field]
    rewrite(seal_path, canonical(seal) + b"\n")
    return rf"seal {re.escape(seal_path.name)} has a bad signature"


def break_seal_chain(d: Path, rng: random.Random) -> str:
    seal = _resign(d, rng, KEY, {"prev_seal": "e" * 64})
    return rf"seal {re.escape(seal.name)} breaks the seal chain"


def swap_signature_key(d: Path, rng: random.Random) -> str:
    """Keep the body, but claim the intruder's key: the signature then fails to match it."""
    seal_path = _seal_path(rng.choice(segments(d)))
    seal = json.loads(seal_path.read_bytes())
    seal["signature"] = base64.b64encode(INTRUDER.sign(b"anything")).decode()
    rewrite(seal_path, canonical(seal) + b"\n")
    return rf"seal {re.escape(seal_path.name)} has a bad signature"


TAMPERS: list[Tamper] = [
    flip_byte,
    flip_byte,
    flip_byte,
    flip_seal_byte,
    delete_line,
    insert_line,
    reorder_lines,
    truncate,
    remove_segment,
    remove_seal,
    remove_seal,
    remove_segment_and_seal,
    resign_with_other_key,
    modify_seal_field,
    break_seal_chain,
    swap_signature_key,
]


def test_intact_archive_verifies(base: Path) -> None:
    report = verify(LocalDirectoryBackend(base), KEY.public_key())
    assert report.ok, report.problems
    assert (report.records, report.last_seq, report.sealed) == (150, 150, len(segments(base)))


def test_randomised_tampering_is_always_detected_and_named(base: Path, tmp_path: Path) -> None:
    rng = random.Random(SEED)
    seen: dict[str, int] = {}
    for case in range(CASES_PER_TAMPER * len(TAMPERS)):
        tamper = TAMPERS[case % len(TAMPERS)]
        d = tmp_path / f"case{case}"
        shutil.copytree(base, d)
        expected = tamper(d, rng)
        pinned = case % 2 == 0
        report = verify(LocalDirectoryBackend(d), KEY.public_key() if pinned else None)
        assert not report.ok, f"case {case} ({tamper.__name__}) not detected"
        assert any(re.search(expected, p) for p in report.problems), (
            f"case {case} ({tamper.__name__}): expected /{expected}/ in {report.problems}"
        )
        seen[tamper.__name__] = seen.get(tamper.__name__, 0) + 1
        shutil.rmtree(d)
    assert set(seen) == {t.__name__ for t in TAMPERS}


def test_whole_archive_resigned_by_an_intruder_fails_only_against_the_pinned_key(
    base: Path, tmp_path: Path
) -> None:
    d = tmp_path / "a"
    shutil.copytree(base, d)
    prev = "0" * 64
    for seg in segments(d):
        seal_path = _seal_path(seg)
        seal = json.loads(seal_path.read_bytes())
        body = {
            k: v for k, v in seal.items() if k not in ("signature", "public_key", "key_fingerprint")
        }
        body["prev_seal"] = prev
        raw = sign_seal(body, INTRUDER)
        rewrite(seal_path, raw)
        prev = hashlib.sha256(raw).hexdigest()
    assert verify(LocalDirectoryBackend(d)).ok  # self-consistent: only a pinned key tells
    pinned = verify(LocalDirectoryBackend(d), KEY.public_key())
    assert len(pinned.problems) == len(segments(d))
    assert all("signed with another key" in p for p in pinned.problems)


def test_modified_quarantine_file_is_reported(
    tmp_path: Path, key: Ed25519PrivateKey, clock: FakeClock
) -> None:
    from pipeline.archive import ArchiveWriter

    w = ArchiveWriter.open_dir(tmp_path, key, clock=clock)
    w.append("config", {"v": 1}, 0.0, sync=True)
    assert w._open is not None
    w._open.out.close()
    seg = tmp_path / w._open.name
    with seg.open("ab") as fh:
        fh.write(b"{torn")
    ArchiveWriter.open_dir(tmp_path, key, clock=clock).close()
    torn = Path(f"{seg}.torn")
    rewrite(torn, b"{other")
    problems = verify(LocalDirectoryBackend(tmp_path)).problems
    assert problems == [f"quarantine file {torn.name} does not match its seal {seg.name}.seal.json"]


def test_open_segment_with_a_torn_line_is_reported(
    tmp_path: Path, key: Ed25519PrivateKey, clock: FakeClock
) -> None:
    from pipeline.archive import ArchiveWriter

    w = ArchiveWriter.open_dir(tmp_path, key, clock=clock)
    w.append_many([("config", {"v": i}, float(i)) for i in range(3)])
    assert w._open is not None
    w._open.out.close()
    with (tmp_path / w._open.name).open("ab") as fh:
        fh.write(b'{"data"')
    report = verify(LocalDirectoryBackend(tmp_path))
    assert [p.split(": ", 1)[1] for p in report.problems] == [
        "incomplete final line (the writer was interrupted; restarting it quarantines the line)"
    ]
    assert any("is open" in n for n in report.notes)


def test_a_validly_signed_seal_with_wrong_types_is_reported_not_crashed_on(
    base: Path, tmp_path: Path
) -> None:
    d = tmp_path / "a"
    shutil.copytree(base, d)
    seal = _resign(d, random.Random(1), KEY, {"last_seq": "150", "quarantine": {"name": 1}})
    (d / "notes.txt").write_text("hello")
    report = verify(LocalDirectoryBackend(d), KEY.public_key())
    assert f"seal {seal.name} is unreadable: field last_seq has the wrong type" in report.problems
    assert "unexpected file notes.txt (not part of the archive)" in report.notes
