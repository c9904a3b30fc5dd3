"""``ndjson``: our own v1 contract, one JSON event per line (validated by ``parse_event``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from detectors.errors import EventError
from detectors.events import parse_event
from detectors.sources.base import Parsed, Skipped, SourceOptions

__all__ = ["parse_ndjson"]


def parse_ndjson(lines: Iterable[str], options: SourceOptions) -> Iterator[Parsed]:
    """Validate each line as a v1 event; invalid lines are bad skips with the reason.

    >>> [type(p).__name__ for p in parse_ndjson(["", "{}"], SourceOptions())]
    ['Skipped', 'Skipped']
    """
    for line_no, line in enumerate(lines, 1):
        text = line.rstrip("\r\n")
        if not text.strip():
            yield Skipped(line_no, "blank line", text)
            continue
        try:
            yield parse_event(text)
        except EventError as exc:
            yield Skipped(line_no, "ndjson: invalid event", text, bad=True, detail=exc.reason)
