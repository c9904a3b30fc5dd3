"""Source adapters: turn logs a team already has into v1 access events (pure, offline).

``parse_source(format, lines, options)`` yields, in input order, an
:class:`~detectors.events.AccessEvent` per access understood and a :class:`Skipped` per line
(or record) that gave none, with a reason; :class:`Summary` counts both. Time comes only from
the records (plus ``options.year``/``options.tz`` for BSD syslog); ids come from the records,
so replaying the same input gives the same events.

>>> lines = ['{"event_id": "e1", "timestamp": "2026-03-02T09:00:00Z", "user": "alice",'
...          ' "action": "login", "outcome": "success", "source_ip": "192.0.2.1"}', "oops"]
>>> summary = Summary()
>>> out = list(summary.track(parse_source("ndjson", lines, SourceOptions())))
>>> [type(p).__name__ for p in out], summary.format()
(['AccessEvent', 'Skipped'], 'parsed 1 event; skipped 1 (1 bad): 1 ndjson: invalid event')
>>> list(to_ndjson(out))[0][:30]
'{"event_id":"e1","timestamp":"'
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from detectors.errors import SourceError
from detectors.events import AccessEvent
from detectors.sources.base import Adapter, Parsed, Skipped, SourceOptions, Summary
from detectors.sources.cloudtrail import parse_cloudtrail
from detectors.sources.github_audit import parse_github_audit
from detectors.sources.k8s_audit import parse_k8s_audit
from detectors.sources.ndjson import parse_ndjson
from detectors.sources.sshd import parse_sshd

__all__ = [
    "FORMATS",
    "Parsed",
    "Skipped",
    "SourceError",
    "SourceOptions",
    "Summary",
    "parse_source",
    "to_ndjson",
]

#: Every format ``parse_source`` reads, by the name the CLI uses.
FORMATS: dict[str, Adapter] = {
    "ndjson": parse_ndjson,
    "sshd": parse_sshd,
    "cloudtrail": parse_cloudtrail,
    "k8s-audit": parse_k8s_audit,
    "github-audit": parse_github_audit,
}


def parse_source(
    format: str, lines: Iterable[str], options: SourceOptions | None = None
) -> Iterator[Parsed]:
    """Parse ``lines`` (text lines, with or without their newline) of one source format.

    Raises :class:`SourceError` for an unknown format, and (lazily, on the first such line)
    for a BSD syslog timestamp when ``options.year`` is not set. Bad lines never raise.
    """
    adapter = FORMATS.get(format)
    if adapter is None:
        raise SourceError(f"unknown format {format!r}: choose one of {', '.join(FORMATS)}")
    return adapter(lines, options or SourceOptions())


def to_ndjson(items: Iterable[Parsed]) -> Iterator[str]:
    """Canonical JSON lines (each ending in a newline) of the events among ``items``."""
    for item in items:
        if isinstance(item, AccessEvent):
            yield item.to_json().decode() + "\n"
