"""What every source adapter shares: options, skipped records, the run summary, small helpers.

An adapter turns lines of text into a stream of :data:`Parsed` items: an
:class:`~detectors.events.AccessEvent` for each access it understood, a :class:`Skipped` for
each line (or record) it did not turn into an event, with a reason. Nothing is dropped silently.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from typing import Any, NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ValidationError

from detectors.errors import SourceError
from detectors.events import AccessEvent, _describe, normalise_ip

__all__ = [
    "Adapter",
    "JsonRecord",
    "Parsed",
    "Skipped",
    "SourceOptions",
    "Summary",
    "as_dict",
    "clip",
    "ip_or_none",
    "iter_json_records",
    "parse_time",
    "stable_id",
    "trusted_event",
    "validated",
]


@dataclass(frozen=True, slots=True)
class SourceOptions:
    """How to read a source. Only the syslog adapter needs ``year`` and ``tz``.

    ``year`` and ``tz`` (an IANA zone name) complete BSD syslog timestamps, which carry neither;
    RFC 3339 timestamps without an offset are read in ``tz`` too. An sshd connection with no
    line for ``connection_idle_seconds`` of log time is closed; at most
    ``max_open_connections`` are tracked at once (the least recently active closes first).
    The syslog adapter builds its events without pydantic validation (it guarantees the
    invariants itself; see :func:`trusted_event`) unless ``validate`` is set.

    >>> SourceOptions(year=2026, tz="Europe/Amsterdam").zone.key
    'Europe/Amsterdam'
    """

    year: int | None = None
    tz: str = "UTC"
    connection_idle_seconds: float = 600.0
    max_open_connections: int = 10_000
    validate: bool = False
    zone: tzinfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.year is not None and not 1970 <= self.year <= 9998:
            raise SourceError(f"year {self.year} is out of range (1970-9998)")
        try:
            zone: tzinfo = UTC if self.tz in ("UTC", "Z") else ZoneInfo(self.tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise SourceError(f"unknown time zone {self.tz!r}: use an IANA name") from None
        if self.connection_idle_seconds <= 0 or self.max_open_connections < 1:
            raise SourceError("connection_idle_seconds and max_open_connections must be positive")
        object.__setattr__(self, "zone", zone)


class Skipped(NamedTuple):
    """A line (or record) that produced no event, and why.

    ``reason`` is a short, stable category (summaries count by it); ``detail`` says more.
    ``bad`` marks input that looked like it should parse but did not: what a producer
    dead-letters. Lines that were understood but carry no access of their own (a merged
    sshd context line, a cron message, a non-final k8s audit stage) are not bad.
    (A named tuple: immutable, and several times cheaper to build than a frozen dataclass.)
    """

    line_no: int
    reason: str
    raw: str
    bad: bool = False
    detail: str = ""


Parsed = AccessEvent | Skipped
Adapter = Callable[[Iterable[str], SourceOptions], Iterator[Parsed]]


@dataclass
class Summary:
    """Counts of a run: events parsed, lines skipped by reason, of which bad.

    >>> s = Summary()
    >>> s.add(Skipped(1, "blank line", ""))
    >>> s.add(Skipped(2, "not JSON", "{", bad=True))
    >>> s.format()
    'parsed 0 events; skipped 2 (1 bad): 1 blank line, 1 not JSON'
    """

    parsed: int = 0
    bad: int = 0
    skipped: Counter[str] = field(default_factory=Counter)

    def add(self, item: Parsed) -> None:
        if isinstance(item, Skipped):
            self.skipped[item.reason] += 1
            self.bad += item.bad
        else:
            self.parsed += 1

    def track(self, items: Iterable[Parsed]) -> Iterator[Parsed]:
        """Pass ``items`` through, counting each one."""
        for item in items:
            self.add(item)
            yield item

    def format(self) -> str:
        total = sum(self.skipped.values())
        head = f"parsed {self.parsed} event{'s' * (self.parsed != 1)}; skipped {total}"
        if not total:
            return head
        reasons = ", ".join(f"{n} {reason}" for reason, n in sorted(
            self.skipped.items(), key=lambda kv: (-kv[1], kv[0])))
        return f"{head} ({self.bad} bad): {reasons}"

    def as_dict(self) -> dict[str, Any]:
        return {"parsed": self.parsed, "bad": self.bad, "skipped": dict(self.skipped)}


def stable_id(prefix: str, *parts: str) -> str:
    """A short deterministic id from the parts of a source record.

    >>> stable_id("sshd", "web1", "1234", "line")
    'sshd:6189f301b56c60e51eeac6fe'
    """
    digest = hashlib.blake2b("\x1f".join(parts).encode(), digest_size=12).hexdigest()
    return f"{prefix}:{digest}"


_CANONICAL_V4 = re.compile(r"(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}"
                           r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)")


def ip_or_none(value: object) -> str | None:
    """The normalised IP if ``value`` is one, else None (hostnames, service names, junk).

    >>> ip_or_none("10.0.0.1"), ip_or_none("2001:DB8::1"), ip_or_none("ec2.amazonaws.com")
    ('10.0.0.1', '2001:db8::1', None)
    """
    if not isinstance(value, str) or not value:
        return None
    if _CANONICAL_V4.fullmatch(value):  # already canonical: skip ipaddress (the slow part)
        return value
    try:
        return normalise_ip(value)
    except ValueError:
        return None


def as_dict(value: object) -> dict[str, Any]:
    """``value`` if it is a JSON object, else an empty one (records are untrusted)."""
    return value if isinstance(value, dict) else {}


def clip(value: object, limit: int) -> str | None:
    """A non-empty string no longer than ``limit``, or None."""
    if value is None or value == "":
        return None
    text = str(value).strip()
    return text[:limit] or None


def parse_time(value: object) -> datetime | None:
    """An aware UTC datetime from RFC 3339 text or epoch milliseconds; None if neither.

    >>> parse_time(1711431195806).isoformat()
    '2024-03-26T05:33:15.806000+00:00'
    >>> parse_time("2020-09-14T00:44:23Z").isoformat()
    '2020-09-14T00:44:23+00:00'
    >>> parse_time("2020-09-14T00:44:23") is None
    True
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        try:
            return datetime.fromtimestamp(value / 1000, UTC)
        except (OverflowError, OSError, ValueError):
            return None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            return None
        return parsed.astimezone(UTC) if parsed.tzinfo is not None else None
    return None


def validated(data: dict[str, Any], line_no: int, raw: str, fmt: str) -> Parsed:
    """Build a validated event, or a bad :class:`Skipped` naming the offending fields."""
    try:
        return AccessEvent.model_validate(data)
    except ValidationError as exc:
        return Skipped(line_no, f"{fmt}: invalid event", raw, bad=True, detail=_describe(exc))


# Every field in declaration order (as validation would lay them out); required ones are
# always supplied by the caller.
_TEMPLATE: dict[str, Any] = {
    name: None if field.is_required() else field.get_default(call_default_factory=True)
    for name, field in AccessEvent.model_fields.items()
}
_set_attr = object.__setattr__
_new_event = object.__new__


def trusted_event(fields: dict[str, Any]) -> AccessEvent:
    """An event built without validation: what ``model_construct`` does, minus its overhead.

    Only for adapters that guarantee the v1 invariants themselves: every required field
    present, an aware UTC ``timestamp``, a canonical ``source_ip`` (from :func:`ip_or_none`),
    a known ``outcome``, a lowercase-word ``action``, stripped strings within the length
    limits. ``SourceOptions(validate=True)`` makes those adapters validate instead, and the
    tests check both ways give equal events.
    """
    data = {**_TEMPLATE, **fields}
    if "attributes" not in fields:
        data["attributes"] = {}
    event = _new_event(AccessEvent)
    _set_attr(event, "__dict__", data)
    _set_attr(event, "__pydantic_fields_set__", set(fields))
    _set_attr(event, "__pydantic_extra__", None)
    _set_attr(event, "__pydantic_private__", None)
    return event


@dataclass(frozen=True, slots=True)
class JsonRecord:
    """One JSON record of a source; ``raw`` is its own text (re-encoded if it was nested)."""

    line_no: int
    value: Any
    line: str
    nested: bool

    @property
    def raw(self) -> str:
        return json.dumps(self.value) if self.nested else self.line


def iter_json_records(
    lines: Iterable[str], list_key: str, fmt: str
) -> Iterator[JsonRecord | Skipped]:
    """Records of a JSON source: one per line, or a file holding one (pretty-printed) document.

    A line (or document) that is an object with a ``list_key`` array, or a top-level array,
    yields each item. If the first non-blank line is not JSON on its own but opens an object or
    array, the whole input is read as one document.
    """
    it = iter(lines)
    seen_record = False
    for line_no, line in enumerate(it, 1):
        text = line.rstrip("\r\n")
        if not text.strip():
            yield Skipped(line_no, "blank line", text)
            continue
        try:
            value = json.loads(text)
        except (json.JSONDecodeError, RecursionError) as exc:
            if not seen_record and text.lstrip()[:1] in ("{", "["):
                yield from _whole_document(line_no, text, it, list_key, fmt)
                return
            yield Skipped(line_no, f"{fmt}: not JSON", text, bad=True, detail=str(exc))
            continue
        seen_record = True
        yield from _unpack(line_no, text, value, list_key)


def _whole_document(
    first_no: int, first: str, rest: Iterator[str], list_key: str, fmt: str
) -> Iterator[JsonRecord | Skipped]:
    text = "\n".join([first, *(line.rstrip("\r\n") for line in rest)])
    try:
        value = json.loads(text)
    except (json.JSONDecodeError, RecursionError) as exc:
        yield Skipped(first_no, f"{fmt}: not JSON", text, bad=True, detail=str(exc))
        return
    yield from _unpack(first_no, text, value, list_key)


def _unpack(line_no: int, text: str, value: Any, list_key: str) -> Iterator[JsonRecord]:
    items = value.get(list_key) if isinstance(value, dict) else value
    if isinstance(items, list):
        for item in items:
            yield JsonRecord(line_no, item, text, nested=True)
    else:
        yield JsonRecord(line_no, value, text, nested=False)
