"""The archive writer: appends records to the open segment, rotates and seals segments.

Durability: ``append_many`` writes its batch with one ``write`` and, by default, one ``fsync``;
``append`` only writes (buffered), and ``flush()`` makes everything appended so far durable. A
caller that acknowledges input (commits Kafka offsets) must do so only after ``append_many`` or
``flush()`` returned. Redelivered input after a crash is archived again: the archive is a log of
what was seen, and duplicates keep their ids (``event_id``, ``alert_id``).

Rotation: a segment is sealed when it reaches ``max_segment_bytes`` (checked record by record,
so a segment never exceeds it unless one record does) or when it has been open for
``max_segment_seconds`` by the injected clock (checked on every append and by
``rotate_if_due``). Segments are created lazily by the first record, so no empty segments.

Crash recovery (on construction): if the newest segment has no seal, the writer was stopped
without ``close()``. Its lines are checked in order (hash, seq, prev); the first line that is
incomplete (no newline), unreadable or does not continue the chain, and everything after it, is
cut off into ``<segment>.torn`` (read-only, its size and SHA-256 recorded in the seal). The
segment is truncated to its last good record and sealed with ``recovered: true``. A
``recovery`` record opens the next segment, and the chain continues from the last good record.
Nothing is deleted: quarantined bytes stay in the archive next to the segment they came from.
A storage error (disk full, I/O error) stops the writer with :class:`ArchiveError`; the next
writer on the archive recovers the open segment the same way.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from pipeline.archive.backend import Appendable, ArchiveBackend, LocalDirectoryBackend
from pipeline.archive.errors import ArchiveError
from pipeline.archive.keys import Ed25519PrivateKey, fingerprint
from pipeline.archive.layout import (
    parse_segment_name,
    quarantine_name,
    seal_name,
    segment_name,
)
from pipeline.archive.records import (
    GENESIS,
    KINDS,
    Record,
    format_time,
    make_line,
    parse_line,
)
from pipeline.archive.seal import parse_seal, seal_digest, sign_seal

__all__ = ["DEFAULT_MAX_SEGMENT_BYTES", "DEFAULT_MAX_SEGMENT_SECONDS", "ArchiveWriter"]

DEFAULT_MAX_SEGMENT_BYTES = 64 * 1024 * 1024
DEFAULT_MAX_SEGMENT_SECONDS = 3600.0

#: Item of ``append_many``: kind, data, time (aware datetime, POSIX seconds, or an archive time
#: string such as ``format_time`` returns).
Item = tuple[str, dict[str, Any], datetime | float | str]
_TIME_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _time(when: datetime | float | str) -> str:
    if isinstance(when, str):
        if not _TIME_RE.match(when):
            raise ArchiveError(f"record time {when!r} is not YYYY-MM-DDTHH:MM:SS.ffffffZ")
        return when
    return format_time(when)


@dataclass
class _OpenSegment:
    name: str
    index: int
    opened: datetime
    out: Appendable
    first_seq: int
    first_prev: str
    size: int = 0
    records: int = 0
    first_time: str | None = None
    last_time: str | None = None
    min_time: str | None = None
    max_time: str | None = None
    last_hash: str = ""
    sha: Any = field(default_factory=hashlib.sha256)

    def add(self, data: bytes, times: list[str]) -> None:
        """Append whole lines; the last line's hash sits at ``-67:-3`` (before ``"}\\n``)."""
        self.out.write(data)
        self.last_hash = data[-67:-3].decode("ascii")
        self.sha.update(data)
        self.size += len(data)
        self.records += len(times)
        if self.first_time is None:
            self.first_time = times[0]
        self.last_time = times[-1]
        lo, hi = min(times), max(times)
        self.min_time = lo if self.min_time is None else min(self.min_time, lo)
        self.max_time = hi if self.max_time is None else max(self.max_time, hi)


class ArchiveWriter:
    """Append-only, hash-chained, signed archive. Not thread-safe; one writer per archive.

    >>> import tempfile
    >>> from pipeline.archive.keys import Ed25519PrivateKey
    >>> with tempfile.TemporaryDirectory() as d:
    ...     with ArchiveWriter.open_dir(d, Ed25519PrivateKey.generate()) as w:
    ...         r = w.append("config", {"path": "detectors.yaml"}, 1772442000.0)
    ...     r.seq, r.prev == "0" * 64, sorted(p.name.split("-")[0] for p in Path(d).iterdir())
    (1, True, ['segment', 'segment'])
    """

    def __init__(
        self,
        backend: ArchiveBackend,
        key: Ed25519PrivateKey,
        *,
        max_segment_bytes: int = DEFAULT_MAX_SEGMENT_BYTES,
        max_segment_seconds: float = DEFAULT_MAX_SEGMENT_SECONDS,
        clock: Callable[[], datetime] = _utcnow,
    ) -> None:
        if max_segment_bytes <= 0 or max_segment_seconds <= 0:
            raise ArchiveError("segment size and age limits must be positive")
        self.backend = backend
        self._key = key
        self._fingerprint = fingerprint(key.public_key())
        self.max_segment_bytes = max_segment_bytes
        self.max_segment_seconds = max_segment_seconds
        self._clock = clock
        self._seq = 0
        self._head = GENESIS
        self._prev_seal = GENESIS
        self._next_index = 1
        self._open: _OpenSegment | None = None
        self._last_time = ""
        self._closed = False
        self.recovered: list[str] = []
        self._resume()

    @classmethod
    def open_dir(cls, path: str | Path, key: Ed25519PrivateKey, **options: Any) -> ArchiveWriter:
        """A writer on a local directory (created if missing)."""
        return cls(LocalDirectoryBackend(path, create=True), key, **options)

    def __enter__(self) -> ArchiveWriter:
        return self

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()

    @property
    def seq(self) -> int:
        """Seq of the last record written (0 for an empty archive)."""
        return self._seq

    @property
    def head(self) -> str:
        """Hash of the last record written: the chain's head."""
        return self._head

    # -- appending -------------------------------------------------------------------------

    def append(
        self, kind: str, data: dict[str, Any], time: datetime | float | str, *, sync: bool = False
    ) -> Record:
        """Append one record; buffered unless ``sync`` (call :meth:`flush` after a batch)."""
        prev = self._head
        self.append_many([(kind, data, time)], sync=sync)
        return Record(self._seq, self._last_time, kind, data, prev, self._head)

    def append_many(self, items: Iterable[Item], *, sync: bool = True) -> int:
        """Append records in order with one write per segment touched; fsync once if ``sync``.

        Either every item is valid and all are appended, or none is (ArchiveError).
        Returns the number of records appended.
        """
        if self._closed:
            raise ArchiveError("the archive writer is closed")
        lines: list[bytes] = []
        times: list[str] = []
        seq, head = self._seq, self._head
        for kind, data, when in items:
            if kind not in KINDS:
                raise ArchiveError(f"unknown record kind {kind!r}; expected one of {sorted(KINDS)}")
            t = _time(when)
            seq += 1
            line, head = make_line(seq, t, kind, data, head)
            lines.append(line)
            times.append(t)
        if not lines:
            return 0
        now = self._clock()
        with self._io("append"):
            self._rotate_if_due(now)
            self._write(lines, times, now)
            self._seq, self._head, self._last_time = seq, head, times[-1]
            if sync and self._open is not None:
                self._open.out.sync()
        return len(lines)

    @contextmanager
    def _io(self, what: str) -> Iterator[None]:
        """A storage failure leaves the open segment in an unknown state: stop writing.

        A new writer on the same archive recovers it (see the module docstring).
        """
        try:
            yield
        except OSError as exc:
            self._closed = True
            raise ArchiveError(
                f"archive {what} failed: {exc.strerror or exc}; the writer stopped, "
                "start a new one to recover the open segment"
            ) from exc

    def _write(self, lines: list[bytes], times: list[str], now: datetime) -> None:
        i, n = 0, len(lines)
        while i < n:
            seg = self._open or self._start_segment(
                now, first_seq=self._seq + i + 1, first_prev=self._prev_hash(lines, i)
            )
            room = self.max_segment_bytes - seg.size
            j, size = i, 0
            while j < n and (size + len(lines[j]) <= room or (j == i and seg.records == 0)):
                size += len(lines[j])
                j += 1
            if j > i:
                seg.add(b"".join(lines[i:j]), times[i:j])
            i = j
            if seg.size >= self.max_segment_bytes or i < n:
                self._seal_open(now)

    def _prev_hash(self, lines: list[bytes], i: int) -> str:
        if i == 0:
            return self._head
        return lines[i - 1][-67:-3].decode("ascii")

    def flush(self) -> None:
        """Make everything appended so far durable (flush + fsync)."""
        if self._open is not None and not self._closed:
            with self._io("flush"):
                self._open.out.sync()

    def rotate_if_due(self, now: datetime | None = None) -> bool:
        """Seal the open segment if it is older than ``max_segment_seconds``."""
        if self._closed:
            return False
        with self._io("rotation"):
            return self._rotate_if_due(now or self._clock())

    def _rotate_if_due(self, now: datetime) -> bool:
        if self._open is None:
            return False
        if (now - self._open.opened).total_seconds() < self.max_segment_seconds:
            return False
        self._seal_open(now)
        return True

    def close(self) -> None:
        """Seal the open segment (if any); the writer accepts no more records."""
        if self._closed:
            return
        if self._open is not None:
            with self._io("close"):
                self._seal_open(self._clock())
        self._closed = True

    # -- segments and seals ----------------------------------------------------------------

    def _start_segment(self, now: datetime, first_seq: int, first_prev: str) -> _OpenSegment:
        name = segment_name(self._next_index, now)
        self._open = _OpenSegment(
            name=name,
            index=self._next_index,
            opened=now,
            out=self.backend.create_appendable(name),
            first_seq=first_seq,
            first_prev=first_prev,
        )
        self._next_index += 1
        return self._open

    def _seal_open(
        self, now: datetime, recovered: bool = False, quarantine: dict[str, Any] | None = None
    ) -> None:
        seg = self._open
        assert seg is not None
        seg.out.close()
        self.backend.make_immutable(seg.name)
        last_seq = seg.first_seq + seg.records - 1
        body = {
            "version": 1,
            "segment": seg.name,
            "index": seg.index,
            "sha256": seg.sha.hexdigest(),
            "bytes": seg.size,
            "records": seg.records,
            "first_seq": seg.first_seq,
            "last_seq": last_seq,
            "first_time": seg.first_time,
            "last_time": seg.last_time,
            "min_time": seg.min_time,
            "max_time": seg.max_time,
            "first_prev": seg.first_prev,
            "last_hash": seg.last_hash if seg.records else seg.first_prev,
            "prev_seal": self._prev_seal,
            "recovered": recovered,
            "quarantine": quarantine,
            "sealed_at": format_time(now),
        }
        raw = sign_seal(body, self._key)
        self.backend.put_immutable(seal_name(seg.name), raw)
        self._prev_seal = seal_digest(raw)
        self._open = None

    # -- resuming and crash recovery -------------------------------------------------------

    def _resume(self) -> None:
        names = self.backend.names()
        present = set(names)
        segments = sorted(s for s in map(parse_segment_name, names) if s is not None)
        if not segments:
            return
        last = segments[-1]
        if seal_name(last.name) in present:
            self._load_seal(last.name)
            return
        if len(segments) > 1:
            before = segments[-2]
            if seal_name(before.name) not in present:
                raise ArchiveError(
                    f"segment {before.name} has no seal and is not the newest; "
                    "run `accessguard archive verify` before writing"
                )
            self._load_seal(before.name)
        self._next_index = last.index + 1
        self._recover(last.name, last.index)

    def _load_seal(self, segment: str) -> None:
        raw = self.backend.read_bytes(seal_name(segment))
        seal, reason = parse_seal(raw)
        if seal is None:
            raise ArchiveError(f"seal of {segment} is unreadable ({reason}); run verify")
        if seal["key_fingerprint"] != self._fingerprint:
            raise ArchiveError(
                f"the archive is sealed with key {seal['key_fingerprint']}, but the signing key is "
                f"{self._fingerprint}; use the archive's key or a new directory"
            )
        self._seq, self._head = seal["last_seq"], seal["last_hash"]
        self._prev_seal = seal_digest(raw)
        self._next_index = seal["index"] + 1

    def _recover(self, name: str, index: int) -> None:
        """Seal an interrupted segment (see the module docstring)."""
        opened = datetime.strptime(name.split("-")[1], "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC)
        seg = _OpenSegment(
            name=name,
            index=index,
            opened=opened,
            out=_NoWrite(),
            first_seq=self._seq + 1,
            first_prev=self._head,
        )
        good, reason = 0, ""
        with self.backend.open_read(name) as fh:
            for raw in fh:
                record, why = (
                    (None, "incomplete final line")
                    if not raw.endswith(b"\n")
                    else parse_line(raw[:-1])
                )
                chained = (
                    record is not None and record.seq == self._seq + 1 and record.prev == self._head
                )
                if record is not None and not chained:
                    record, why = None, "does not continue the chain"
                if record is None:
                    reason = f"line {seg.records + 1}: {why}"
                    break
                seg.add(raw, [record.time])
                good += len(raw)
                self._seq, self._head = record.seq, record.hash
        size = self.backend.size(name)
        quarantine = None
        if good < size:
            with self.backend.open_read(name) as fh:
                fh.seek(good)
                torn = fh.read()
            qname = quarantine_name(name)
            self.backend.put_immutable(qname, torn)
            self.backend.truncate(name, good)
            quarantine = {
                "name": qname,
                "bytes": len(torn),
                "sha256": hashlib.sha256(torn).hexdigest(),
                "reason": reason,
            }
        self._open = seg
        now = self._clock()
        self._seal_open(now, recovered=True, quarantine=quarantine)
        self.recovered.append(name)
        note = {"segment": name, "records_kept": seg.records, "quarantine": quarantine}
        self.append("recovery", note, now, sync=True)


class _NoWrite:
    """Stands in for the output of a segment that recovery only reads and seals."""

    def write(self, data: bytes) -> None:
        pass

    def sync(self) -> None:
        pass

    def close(self) -> None:
        pass
