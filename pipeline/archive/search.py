"""Stream the records that answer "who did what, when" without loading the archive.

Segments are read in order, one line at a time. A sealed segment whose seal says its records'
times all fall outside ``[since, until)`` is skipped unread. Each line is first tested with
cheap byte checks (its time sits at a fixed place; a wanted user/action/detector must appear
as a canonical ``"field":"value"`` substring) and only then parsed. Search does not verify;
run :func:`pipeline.archive.verify` for that.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from pipeline.archive.backend import ArchiveBackend
from pipeline.archive.layout import parse_segment_name, seal_name
from pipeline.archive.records import canonical, record_time
from pipeline.archive.seal import parse_seal

__all__ = ["SearchQuery", "search"]


@dataclass(frozen=True)
class SearchQuery:
    """All given fields must match. Times are archive times (``format_time``):
    ``since <= time < until``. ``user`` matches events and alerts, ``action`` events,
    ``detector`` alerts (and any record whose data has that field)."""

    user: str | None = None
    action: str | None = None
    detector: str | None = None
    kind: str | None = None
    since: str | None = None
    until: str | None = None

    def _fields(self) -> dict[str, str]:
        wanted = {"user": self.user, "action": self.action, "detector": self.detector}
        return {k: v for k, v in wanted.items() if v is not None}

    def overlaps(self, lo: str | None, hi: str | None) -> bool:
        if lo is None or hi is None:
            return False  # a sealed segment without records
        return (self.since is None or hi >= self.since) and (self.until is None or lo < self.until)


def search(backend: ArchiveBackend, query: SearchQuery) -> Iterator[bytes]:
    """Yield matching record lines (with their ``\\n``), in archive order."""
    present = set(backend.names())
    segments = sorted(s for s in map(parse_segment_name, present) if s is not None)
    fields = query._fields()
    needles = [b'"%s":%s' % (k.encode(), canonical(v)) for k, v in fields.items()]
    kind_needle = b'"kind":' + canonical(query.kind) if query.kind else None
    since = query.since.encode() if query.since else None
    until = query.until.encode() if query.until else None
    for seg in segments:
        if seal_name(seg.name) in present:
            seal, _ = parse_seal(backend.read_bytes(seal_name(seg.name)))
            if seal is not None and not query.overlaps(seal["min_time"], seal["max_time"]):
                continue
        with backend.open_read(seg.name) as fh:
            for line in fh:
                body = line.rstrip(b"\n")
                t = record_time(body)
                if (since and t < since) or (until and t >= until):
                    continue
                if kind_needle and kind_needle not in body:
                    continue
                if any(n not in body for n in needles):
                    continue
                if _matches(body, fields, query.kind):
                    yield line if line.endswith(b"\n") else line + b"\n"


def _matches(body: bytes, fields: dict[str, str], kind: str | None) -> bool:
    try:
        record: Any = json.loads(body)
    except ValueError:
        return False  # a damaged line; verify reports it
    if not isinstance(record, dict) or not isinstance(record.get("data"), dict):
        return False
    if kind is not None and record.get("kind") != kind:
        return False
    data = record["data"]
    return all(data.get(k) == v for k, v in fields.items())
