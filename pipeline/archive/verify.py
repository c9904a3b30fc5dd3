"""Check an archive end to end and say exactly what is wrong.

What is checked, in archive order (segment index 1, 2, ...):

* every index is present (a segment and its seal), only the newest segment may lack a seal;
* each seal: readable, names its segment, its embedded key matches its fingerprint and is the
  archive's key (``public_key`` if given, else the key most seals use), its signature verifies,
  its ``prev_seal`` is the SHA-256 of the previous seal file, its quarantine file (after a crash
  recovery) is present and unchanged;
* each record line: hash matches content; ``seq`` runs on by one and ``prev`` is the previous
  record's hash, across segments; nothing is duplicated, missing or out of order;
* each sealed segment against its seal: size, record count, seq range and SHA-256.

Problems are reported once, where they are: after a modified, missing or inserted record the
check resynchronises (from the seal, else from the next good record) instead of cascading.

Limits: the newest, unsealed segment is protected by the chain only (a rewritten tail of it
cannot be told from a different history), and cutting whole segments off the end of the
archive leaves nothing behind to detect; compare the printed head (last seq and hash) with one
recorded earlier, or use a backend with object lock.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from pipeline.archive.backend import ArchiveBackend
from pipeline.archive.keys import Ed25519PublicKey, fingerprint
from pipeline.archive.layout import SegmentName, parse_segment_name, seal_name
from pipeline.archive.records import GENESIS, parse_line
from pipeline.archive.seal import parse_seal, seal_digest, seal_key, signature_ok

__all__ = ["VerifyReport", "verify"]

_SEAL_SUFFIX = ".seal.json"


@dataclass
class VerifyReport:
    """What :func:`verify` found: ``problems`` (empty when intact), ``notes`` and counts."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    segments: int = 0
    sealed: int = 0
    records: int = 0
    last_seq: int = 0
    head: str = GENESIS
    min_time: str | None = None
    max_time: str | None = None
    key_fingerprint: str | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def summary(self) -> str:
        span = f", {self.min_time} .. {self.max_time}" if self.min_time else ""
        key = self.key_fingerprint or "none"
        opened = self.segments - self.sealed
        return (
            f"{self.segments} segment(s) ({self.sealed} sealed, {opened} open), "
            f"{self.records} record(s), last seq {self.last_seq}{span}; key {key}; "
            f"head {self.head}"
        )


@dataclass
class _Chain:
    seq: int | None = 0  # last seq before the next segment; None = unknown after a gap
    head: str | None = GENESIS
    seal: str | None = GENESIS  # digest of the previous seal file
    seal_name: str = ""


def verify(backend: ArchiveBackend, public_key: Ed25519PublicKey | None = None) -> VerifyReport:
    report = VerifyReport()
    names = backend.names()
    present = set(names)
    by_index: dict[int, list[SegmentName]] = {}
    for name in names:
        parsed = parse_segment_name(name)
        if parsed is None and name.endswith(_SEAL_SUFFIX):
            parsed = parse_segment_name(name[: -len(_SEAL_SUFFIX)])
        if (
            parsed is None
            and not name.startswith(".")
            and not (name.endswith(".torn") and parse_segment_name(name[:-5]))
        ):
            report.notes.append(f"unexpected file {name} (not part of the archive)")
        if parsed is not None and parsed not in by_index.get(parsed.index, []):
            by_index.setdefault(parsed.index, []).append(parsed)
    if not by_index:
        report.problems.append("no segments found (is this an archive directory?)")
        return report
    seals = _read_seals(backend, present, by_index, report)
    trusted = _trusted_key(seals, public_key, report)
    chain = _Chain()
    last_index = max(by_index)
    for index in range(1, last_index + 1):
        entries = by_index.get(index, [])
        if len(entries) > 1:
            report.problems.append(
                f"segments {', '.join(e.name for e in entries)} share index {index}"
            )
        if not entries:
            report.problems.append(f"segment #{index:06d} is missing (no segment file, no seal)")
            chain = _Chain(None, None, None)
            continue
        name = entries[0].name
        raw, seal = seals.get(name, (None, None))
        before = len(report.problems)
        if seal is not None:
            _check_seal(name, index, raw, seal, trusted, chain, backend, present, report)
        # The next seal's prev_seal is only worth checking against a seal found intact here;
        # otherwise the broken link is this seal's problem, already reported.
        seal_ok = seal is not None and len(report.problems) == before
        if name not in present:
            report.problems.append(f"segment {name} is missing (its seal exists)")
            chain = _after_seal(seal, raw, seal_ok)
            continue
        report.segments += 1
        if raw is None and index != last_index:
            report.problems.append(f"segment {name} has no seal (only the newest may be open)")
        elif raw is None and backend.is_immutable(name):
            # Only sealing makes a segment read-only, so its seal was removed (or the writer
            # stopped between the two steps; restarting it seals the segment).
            report.problems.append(
                f"segment {name} is read-only but has no seal (the seal was removed, or the "
                "writer stopped while sealing)"
            )
        elif raw is None:
            report.notes.append(f"segment {name} is open (not sealed yet)")
        end_seq, end_head = _check_segment(backend, name, seal, chain, report)
        if seal is not None:
            report.sealed += 1
            chain = _after_seal(seal, raw, seal_ok)
        else:
            chain = _Chain(end_seq, end_head, None)
    if chain.seq is not None and chain.head is not None:
        report.last_seq, report.head = chain.seq, chain.head
    return report


def _read_seals(
    backend: ArchiveBackend,
    present: set[str],
    by_index: dict[int, list[SegmentName]],
    report: VerifyReport,
) -> dict[str, tuple[bytes, dict[str, Any] | None]]:
    seals: dict[str, tuple[bytes, dict[str, Any] | None]] = {}
    for entries in by_index.values():
        for entry in entries:
            sname = seal_name(entry.name)
            if sname not in present:
                continue
            raw = backend.read_bytes(sname)
            seal, reason = parse_seal(raw)
            if seal is None:
                report.problems.append(f"seal {sname} is unreadable: {reason}")
            seals[entry.name] = (raw, seal)
    return seals


def _trusted_key(
    seals: dict[str, tuple[bytes, dict[str, Any] | None]],
    public_key: Ed25519PublicKey | None,
    report: VerifyReport,
) -> str | None:
    if public_key is not None:
        report.key_fingerprint = fingerprint(public_key)
        return report.key_fingerprint
    votes = Counter(s["key_fingerprint"] for _, s in seals.values() if s and seal_key(s))
    if not votes:
        return None
    report.key_fingerprint = votes.most_common(1)[0][0]
    report.notes.append(
        f"signatures checked against the key the seals carry ({report.key_fingerprint}); "
        "pass --public-key to pin the expected key"
    )
    return report.key_fingerprint


def _check_seal(
    name: str,
    index: int,
    raw: bytes | None,
    seal: dict[str, Any],
    trusted: str | None,
    chain: _Chain,
    backend: ArchiveBackend,
    present: set[str],
    report: VerifyReport,
) -> None:
    sname = seal_name(name)
    problems = report.problems
    if seal["segment"] != name or seal["index"] != index:
        problems.append(
            f"seal {sname} is for {seal['segment']} (index {seal['index']}), not {name}"
        )
    key = seal_key(seal)
    if key is None:
        problems.append(f"seal {sname} carries a public key that does not match its fingerprint")
    elif seal["key_fingerprint"] != trusted:
        problems.append(
            f"seal {sname} is signed with another key ({seal['key_fingerprint']}, "
            f"expected {trusted})"
        )
    elif not signature_ok(seal, key):
        problems.append(f"seal {sname} has a bad signature (modified after signing)")
    if chain.seal is not None and seal["prev_seal"] != chain.seal:
        problems.append(
            f"seal {sname} breaks the seal chain: its prev_seal is not the hash of "
            + (f"seal {chain.seal_name}" if chain.seal_name else "the genesis value (64 zeros)")
        )
    if chain.seq is not None and seal["first_seq"] != chain.seq + 1:
        problems.append(
            f"seal {sname} starts at seq {seal['first_seq']}, but the previous segment ends at "
            f"seq {chain.seq}"
        )
    quarantine = seal["quarantine"]
    if seal["recovered"]:
        kept = (
            f"{quarantine['bytes']} byte(s) quarantined in {quarantine['name']}"
            if isinstance(quarantine, dict)
            else "nothing quarantined"
        )
        report.notes.append(f"segment {name} was closed by crash recovery ({kept})")
    if isinstance(quarantine, dict):
        qname = str(quarantine.get("name"))
        if qname not in present:
            problems.append(f"quarantine file {qname} named by seal {sname} is missing")
        elif hashlib.sha256(backend.read_bytes(qname)).hexdigest() != quarantine.get("sha256"):
            problems.append(f"quarantine file {qname} does not match its seal {sname}")


def _after_seal(seal: dict[str, Any] | None, raw: bytes | None, seal_ok: bool) -> _Chain:
    if seal is None or raw is None:
        return _Chain(None, None, None)
    link = seal_digest(raw) if seal_ok else None
    return _Chain(seal["last_seq"], seal["last_hash"], link, seal_name(seal["segment"]))


def _check_segment(
    backend: ArchiveBackend,
    name: str,
    seal: dict[str, Any] | None,
    chain: _Chain,
    report: VerifyReport,
) -> tuple[int | None, str | None]:
    """Check the records of one segment; returns the last good (seq, hash)."""
    problems: list[str] = []
    sha = hashlib.sha256()
    size = lines = 0
    start = chain.seq + 1 if chain.seq is not None else (seal["first_seq"] if seal else None)
    last_seq: int | None = None if start is None else start - 1
    last_hash: str | None = chain.head
    last_line = 0
    seen: dict[int, int] = {}
    gaps: list[tuple[int, int, int]] = []
    bad_run: list[int] = []
    inversion: tuple[int, int, int, int] | None = None
    torn_line = 0
    max_seq = seal["last_seq"] if seal else None

    def flush_bad() -> None:
        if bad_run:
            first, last = bad_run[0], bad_run[-1]
            where = f"line {first}" if first == last else f"lines {first}-{last}"
            problems.append(f"segment {name} {where}: record modified ({bad_reason})")
            bad_run.clear()

    bad_reason = ""
    with backend.open_read(name) as fh:
        for raw in fh:
            lines += 1
            size += len(raw)
            sha.update(raw)
            if not raw.endswith(b"\n"):
                torn_line = lines
                break
            record, why = parse_line(raw[:-1])
            if record is None:
                if not bad_run:
                    bad_reason = str(why)
                bad_run.append(lines)
                continue
            after_bad = bool(bad_run)
            flush_bad()
            seq = record.seq
            if start is not None and seq < start:
                problems.append(
                    f"segment {name} line {lines}: inserted record (seq {seq} belongs to an "
                    "earlier segment)"
                )
                continue
            if max_seq is not None and seq > max_seq:
                problems.append(
                    f"segment {name} line {lines}: inserted record (seq {seq} is past the seal's "
                    f"last seq {max_seq})"
                )
                continue
            if seq in seen:
                if inversion and inversion[2] == seen[seq]:
                    inversion = None  # caused by the earlier copy of this very record
                problems.append(
                    f"segment {name} line {lines}: inserted record (seq {seq} repeats line "
                    f"{seen[seq]})"
                )
                continue
            seen[seq] = lines
            _tally(report, record.time)
            if last_seq is None or seq == last_seq + 1:
                if last_hash is not None and record.prev != last_hash and not after_bad:
                    what = f"line {last_line}" if last_line else "the last record before it"
                    problems.append(
                        f"segment {name} line {lines}: chain broken (prev is not the hash of "
                        f"{what})"
                    )
            elif seq <= last_seq:
                inversion = inversion or (lines, seq, last_line, last_seq)
            elif not after_bad:
                gaps.append((lines, last_seq + 1, seq - 1))
            last_seq, last_hash, last_line = seq, record.hash, lines
    flush_bad()
    if inversion:
        line, seq, before_line, before_seq = inversion
        problems.append(
            f"segment {name}: records reordered (line {line} has seq {seq}, after seq "
            f"{before_seq} on line {before_line})"
        )
    for line, lo, hi in gaps:
        missing = [s for s in range(lo, hi + 1) if s not in seen]
        if missing:
            span = f"seq {missing[0]}" if len(missing) == 1 else f"seq {missing[0]}..{missing[-1]}"
            problems.append(
                f"segment {name} line {line}: {len(missing)} record(s) deleted before this line "
                f"({span} missing)"
            )
    if torn_line:
        if seal is None:
            problems.append(
                f"segment {name} line {torn_line}: incomplete final line (the writer was "
                "interrupted; restarting it quarantines the line)"
            )
        elif size < seal["bytes"]:
            problems.append(f"segment {name} is truncated: line {torn_line} is incomplete")
        else:
            problems.append(f"segment {name} line {torn_line}: record modified (no newline)")
    if seal is not None:
        _against_seal(name, seal, seen, size, lines, sha.hexdigest(), problems, bool(torn_line))
    report.problems.extend(problems)
    report.records += len(seen)
    return last_seq, last_hash


def _against_seal(
    name: str,
    seal: dict[str, Any],
    seen: dict[int, int],
    size: int,
    lines: int,
    digest: str,
    problems: list[str],
    torn: bool,
) -> None:
    top = max(seen) if seen else seal["first_seq"] - 1
    if not torn and top < seal["last_seq"] and size < seal["bytes"]:
        problems.append(
            f"segment {name} is truncated: it ends at seq {top}, its seal says {seal['last_seq']} "
            f"({seal['last_seq'] - top} record(s) deleted at the end)"
        )
    elif not problems and (
        digest != seal["sha256"] or size != seal["bytes"] or lines != seal["records"]
    ):
        problems.append(f"segment {name} does not match its seal (SHA-256, size or record count)")


def _tally(report: VerifyReport, time: str) -> None:
    if report.min_time is None or time < report.min_time:
        report.min_time = time
    if report.max_time is None or time > report.max_time:
        report.max_time = time
