"""Archive records: the canonical line format and its hash.

A record is one line of a segment file::

    {"data":{...},"kind":"event","prev":"<64 hex>","seq":17,
     "time":"2026-03-02T09:00:00.000000Z","hash":"<64 hex>"}      (one line in the file)

* The **content** is ``{"data","kind","prev","seq","time"}`` serialised canonically: keys sorted at
  every level, no whitespace (separators ``,`` and ``:``), ASCII only (``\\uXXXX`` escapes), no
  NaN/Infinity. ``hash`` is the SHA-256 hex of those content bytes.
* The **line** is the content with ``,"hash":"<hex>"`` spliced in before the final ``}``, then
  ``\\n``. So a verifier in any language checks a line without re-serialising it: drop the last
  75 characters (``,"hash":"`` + 64 hex + ``"}``), append ``}``, hash, compare.
* ``prev`` is the previous record's ``hash`` (64 zeros for the first record of the archive); as
  the hash covers every byte of the previous line but its own hash field, the chain commits to
  every earlier line byte for byte, across segment boundaries.
* ``seq`` counts records from 1 across the whole archive; ``time`` is the caller's UTC time for
  the record (the event's or alert's own time, else the write time), always
  ``YYYY-MM-DDTHH:MM:SS.ffffffZ`` so that times compare as strings.
* ``kind`` is one of :data:`KINDS`. A dead-lettered input keeps its raw bytes as base64.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from detectors.events import AccessEvent
from pipeline.archive.errors import ArchiveError

__all__ = [
    "GENESIS",
    "KINDS",
    "Record",
    "alert_data",
    "canonical",
    "dead_letter_data",
    "event_data",
    "format_time",
    "make_line",
    "parse_line",
    "record_time",
]

#: ``prev`` of the very first record, and ``prev_seal`` of the first seal.
GENESIS = "0" * 64

KINDS = frozenset({"event", "dead_letter", "alert", "delivery", "silence", "config", "recovery"})

_SUFFIX_LEN = len(',"hash":"') + 64 + len('"}')
_SUFFIX_RE = re.compile(rb',"hash":"([0-9a-f]{64})"\}')
_encode = json.JSONEncoder(
    sort_keys=True, separators=(",", ":"), ensure_ascii=True, allow_nan=False
).encode


def canonical(obj: Any) -> bytes:
    """Canonical JSON bytes: sorted keys, no whitespace, ASCII, no NaN.

    >>> canonical({"b": 1, "a": {"z": "é", "y": None}})
    b'{"a":{"y":null,"z":"\\\\u00e9"},"b":1}'
    """
    return _encode(obj).encode("ascii")


def format_time(when: datetime | float) -> str:
    """UTC RFC 3339 with microseconds and ``Z``; naive datetimes are refused.

    >>> format_time(1772442000.5)
    '2026-03-02T09:00:00.500000Z'
    """
    if not isinstance(when, datetime):
        when = datetime.fromtimestamp(when, UTC)
    elif when.tzinfo is None:
        raise ArchiveError(f"record time {when.isoformat()} has no UTC offset")
    elif when.tzinfo is not UTC:
        when = when.astimezone(UTC)
    # Runs once per record; isoformat is the fastest formatter (strftime is ~2x slower).
    return when.isoformat(timespec="microseconds")[:26] + "Z"


@dataclass(frozen=True, slots=True)
class Record:
    """One archived record, as written or as read back."""

    seq: int
    time: str
    kind: str
    data: dict[str, Any]
    prev: str
    hash: str


def make_line(seq: int, time: str, kind: str, data: dict[str, Any], prev: str) -> tuple[bytes, str]:
    """The record's line (with ``\\n``) and its hash."""
    try:
        encoded = _encode(data)
    except (TypeError, ValueError) as exc:
        raise ArchiveError(f"{kind} record data is not plain JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise ArchiveError(f"{kind} record data must be a JSON object")
    # The outer object by hand: keys already in sorted order, values known to be plain ASCII
    # (kind from KINDS, hex prev, checked time), so this equals canonical() of the whole.
    raw = (
        f'{{"data":{encoded},"kind":"{kind}","prev":"{prev}","seq":{seq},"time":"{time}"}}'
    ).encode("ascii")
    digest = hashlib.sha256(raw).hexdigest()
    return raw[:-1] + b',"hash":"' + digest.encode("ascii") + b'"}\n', digest


def record_time(line: bytes) -> bytes:
    """The ``time`` of a record line (without ``\\n``), read from its fixed place, unchecked."""
    return line[-_SUFFIX_LEN - 28 : -_SUFFIX_LEN - 1]


def parse_line(line: bytes) -> tuple[Record | None, str | None]:
    """Check one line (without its ``\\n``): ``(record, None)`` or ``(None, reason)``.

    A record whose bytes do not hash to its ``hash`` is rejected: that is how a modified record
    shows.
    """
    match = _SUFFIX_RE.fullmatch(line, len(line) - _SUFFIX_LEN)
    if match is None:
        return None, "not a record line (no trailing hash field)"
    content = line[:-_SUFFIX_LEN] + b"}"
    claimed = match.group(1).decode("ascii")
    if hashlib.sha256(content).hexdigest() != claimed:
        return None, "its hash does not match its content"
    try:
        obj = json.loads(content)
    except ValueError:
        return None, "not valid JSON"
    if not isinstance(obj, dict) or set(obj) != {"data", "kind", "prev", "seq", "time"}:
        return None, "fields are not data, kind, prev, seq, time"
    seq, time, kind, data, prev = obj["seq"], obj["time"], obj["kind"], obj["data"], obj["prev"]
    if type(seq) is not int or not isinstance(time, str) or not isinstance(prev, str):
        return None, "seq, time or prev has the wrong type"
    if kind not in KINDS or not isinstance(data, dict):
        return None, f"unknown kind {kind!r} or data is not an object"
    return Record(seq, time, kind, data, prev, claimed), None


def event_data(event: AccessEvent) -> dict[str, Any]:
    """The ``data`` of an ``event`` record: the event as JSON, without unset optional fields."""
    return event.model_dump(mode="json", exclude_defaults=True)


def alert_data(alert: Any) -> dict[str, Any]:
    """The ``data`` of an ``alert`` record (an :class:`alerts.model.Alert`, any pydantic model)."""
    data: dict[str, Any] = alert.model_dump(mode="json")
    return data


def dead_letter_data(raw: bytes, reason: str, **context: Any) -> dict[str, Any]:
    """The ``data`` of a ``dead_letter`` record: raw input as base64, the reason, and context
    such as ``topic``/``partition``/``offset`` or ``source``/``line``."""
    return {"raw_b64": base64.b64encode(raw).decode("ascii"), "reason": reason, **context}
