"""File names in an archive.

* ``segment-YYYYMMDDTHHMMSSZ-NNNNNN.ndjson``: records; UTC time the segment was opened, and its
  index (1, 2, ...), which orders the archive.
* ``<segment>.seal.json``: the signed digest of a closed segment.
* ``<segment>.torn``: bytes cut from a segment after a crash (see the writer).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

__all__ = ["SegmentName", "parse_segment_name", "quarantine_name", "seal_name", "segment_name"]

_SEGMENT_RE = re.compile(r"^segment-(\d{8}T\d{6}Z)-(\d{6,})\.ndjson$")


@dataclass(frozen=True, slots=True, order=True)
class SegmentName:
    index: int
    opened: str
    name: str


def segment_name(index: int, opened: datetime) -> str:
    """The file name of segment ``index``, opened at ``opened``.

    >>> segment_name(1, datetime(2026, 3, 1, 9, tzinfo=UTC))
    'segment-20260301T090000Z-000001.ndjson'
    """
    return f"segment-{opened.astimezone(UTC).strftime('%Y%m%dT%H%M%SZ')}-{index:06d}.ndjson"


def parse_segment_name(name: str) -> SegmentName | None:
    match = _SEGMENT_RE.match(name)
    return SegmentName(int(match.group(2)), match.group(1), name) if match else None


def seal_name(segment: str) -> str:
    return f"{segment}.seal.json"


def quarantine_name(segment: str) -> str:
    return f"{segment}.torn"
