"""Which processes of a split replay need a line: read from its key fields alone.

A replay split across processes (:mod:`detectors.replay`) gives each (key kind, key) to one
process (:class:`~detectors.engine.KeyShard`). A process needs an event only when a key kind
that may take it (:meth:`~detectors.engine.Engine.may_take`, from its action and outcome)
has the event's key in that process's shard. Parsing a whole event is a third of a replay's
time, so each process parses only the lines it needs, and :class:`LineRouter` decides that
from five fields (``action``, ``outcome``, ``user``, ``source_ip``, ``credential_id``),
which pydantic-core reads from the line without building the rest of the event (measured:
1.4 µs a line, against 8 to 10 µs for :func:`~detectors.events.parse_event`).

The fields are read by the same JSON parser, with the same types and whitespace stripping
as the event model, and the source IP normalised the same way, so a valid event's keys are
the keys the engine will see: a repeated key, an escape or odd spacing read alike in both.
A line whose key fields do not validate is not a valid event either.

Every line goes to at least one process (a line no process needs, invalid or not, goes to
one chosen by its line number), so every invalid line is found; the lowest-numbered process
a line goes to reports it if it is invalid (:func:`reporter`), so it is reported once.

>>> from detectors.config import Config
>>> router = LineRouter([Engine(Config())], 2)
>>> line = (b'{"event_id": "e1", "timestamp": "2026-03-01T10:00:00Z", "user": " ann ",'
...         b' "action": "login", "outcome": "failure", "source_ip": "203.0.113.9"}')
>>> user = KeyShard.shard_of("user", "ann", 2)
>>> ip = KeyShard.shard_of("source_ip", "203.0.113.9", 2)
>>> router.route(line, 1) == (1 << user) | (1 << ip)
True
>>> router.route(b"not json", 7), router.route(b"not json", 8)  # one process, by number
(2, 1)
"""

from __future__ import annotations

from collections.abc import Sequence

from pydantic import ConfigDict, TypeAdapter, ValidationError
from typing_extensions import TypedDict

from detectors.engine import Engine, KeyShard
from detectors.events import MAX_EVENT_BYTES, normalise_ip
from detectors.findings import KeyKind

__all__ = ["LineRouter", "reporter"]

#: Distinct keys (and action/outcome pairs) whose owners a router remembers.
MAX_REMEMBERED = 1 << 20


class _Keys(TypedDict, total=False):
    """The fields routing reads, typed and stripped as :class:`AccessEvent` has them (its
    ``outcome`` is a literal: any string is let through here, the event model judges)."""

    __pydantic_config__ = ConfigDict(str_strip_whitespace=True, extra="ignore")  # type: ignore[misc]

    user: str
    action: str
    outcome: str
    source_ip: str | None
    credential_id: str | None


_read_keys = TypeAdapter(_Keys).validator.validate_json
_FIELD: dict[KeyKind, str] = {"user": "user", "source_ip": "source_ip",
                              "credential": "credential_id"}
_KIND: dict[str, KeyKind] = {field: kind for kind, field in _FIELD.items()}


def reporter(mask: int) -> int:
    """The process that reports a line ``mask`` sends to several, if it is invalid."""
    return (mask & -mask).bit_length() - 1


class LineRouter:
    """Which of ``count`` processes, each running ``engines`` over its
    :class:`~detectors.engine.KeyShard`, need a line. The same in every process."""

    def __init__(self, engines: Sequence[Engine], count: int) -> None:
        self.count = count
        self._engines = tuple(engines)
        self._kinds: tuple[KeyKind, ...] = tuple(dict.fromkeys(
            kind for engine in engines for kind in engine.key_kinds))
        #: (action, outcome) -> (field, owners) of each key kind that may take such events
        self._takers: dict[tuple[str | None, str | None], tuple[tuple[str, dict[str, int]],
                                                                 ...]] = {}
        #: field -> key -> owning process, or -1 for a source IP that is no address
        self._owners: dict[str, dict[str, int]] = {field: {} for field in _KIND}

    def route(self, line: bytes | str, number: int) -> int:
        """A bit mask of the processes that need ``line`` (the ``number``-th of the input):
        bit ``i`` for process ``i``, never zero."""
        mask = 0
        if len(line) <= MAX_EVENT_BYTES:  # a longer one is refused unread
            try:
                keys = _read_keys(line)
            except ValidationError:
                keys = {}
            pair = (keys.get("action"), keys.get("outcome"))
            takers = self._takers.get(pair)
            if takers is None:
                takers = self._kinds_taking(*pair)
            for field, owners in takers:
                key = keys.get(field)
                if key is not None:
                    owner = owners.get(key)
                    if owner is None:
                        owner = self._owner(field, key)
                    if owner >= 0:
                        mask |= 1 << owner
        return mask or 1 << (number % self.count)

    def _kinds_taking(self, action: str | None, outcome: str | None
                      ) -> tuple[tuple[str, dict[str, int]], ...]:
        takers: tuple[tuple[str, dict[str, int]], ...] = ()
        if action is not None and outcome is not None:  # else the event is invalid
            takers = tuple(
                (_FIELD[kind], self._owners[_FIELD[kind]]) for kind in self._kinds
                if any(kind in engine.key_kinds and engine.may_take(kind, action, outcome)
                       for engine in self._engines))
        if len(self._takers) >= MAX_REMEMBERED:
            self._takers.clear()
        self._takers[(action, outcome)] = takers
        return takers

    def _owner(self, field: str, key: str) -> int:
        kind = _KIND[field]
        try:
            owner = KeyShard.shard_of(
                kind, normalise_ip(key) if kind == "source_ip" else key, self.count)
        except ValueError:  # a source IP that is no address: the event is invalid
            owner = -1
        known = self._owners[field]
        if len(known) >= MAX_REMEMBERED:
            known.clear()
        known[key] = owner
        return owner
