"""Runs the enabled detectors over events, one key's state at a time.

The same :class:`Engine` runs inside the Faust agents (state from tables), in offline replay
and in tests (state in a dict), which is what makes stream and replay agree.

Per-key state is one JSON-compatible dict: each detector's own state under its name, plus
``_seen``, short hashes of the key's most recent event ids, so a re-sent event (a producer
retry, or a redelivery after a crash) is not counted twice.

A detector that lists several ``key_kinds`` runs once per kind (one instance each), with its
state under its name in each kind's table. Settings beyond a detector's own section (the
sensitive environments) and the injected geo lookup reach it as a
:class:`~detectors.base.DetectorContext`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from hashlib import blake2b
from typing import Any

from detectors.base import Detector, DetectorContext
from detectors.config import Config
from detectors.events import AccessEvent
from detectors.findings import Finding, KeyKind
from detectors.geo import GeoLookup, NullGeoLookup
from detectors.registry import DETECTORS

__all__ = ["SEEN_IDS", "Engine", "KeyState"]

KeyState = dict[str, Any]

#: How many recent event ids per key are remembered for duplicate detection.
SEEN_IDS = 16


def _short_id(event_id: str) -> str:
    return blake2b(event_id.encode(), digest_size=8).hexdigest()


class Engine:
    """The enabled detectors of a config, grouped by the key they keep state for.

    ``geo`` is the offline IP lookup the geo detectors fall back on when an event carries no
    ``geo`` (build one per worker, e.g. ``GeoIP2FastLookup.load()``); by default none.
    """

    def __init__(
        self,
        config: Config,
        *,
        only: Iterable[str] | None = None,
        geo: GeoLookup | None = None,
    ) -> None:
        self.config = config
        self.context = DetectorContext(
            sensitive_environments=config.sensitive_environments,
            geo=geo if geo is not None else NullGeoLookup(),
        )
        wanted = set(only) if only is not None else None
        sections = config.detectors
        by_kind: dict[KeyKind, list[Detector]] = {}  # type: ignore[type-arg]
        for name, cls in DETECTORS.items():
            section = getattr(sections, name)
            if not section.enabled or (wanted is not None and name not in wanted):
                continue
            for kind in cls.key_kinds:
                det = cls(section, allowed_lateness_seconds=config.allowed_lateness_seconds,
                          context=self.context, kind=kind)
                by_kind.setdefault(kind, []).append(det)
        self._by_kind = by_kind

    @property
    def key_kinds(self) -> tuple[KeyKind, ...]:
        """Key kinds that at least one enabled detector keeps state for."""
        return tuple(self._by_kind)

    @property
    def detector_names(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(d.name for dets in self._by_kind.values() for d in dets))

    @staticmethod
    def key_for(kind: KeyKind, event: AccessEvent) -> str | None:
        """The key an event is kept under for ``kind``; None when the event has none."""
        if kind == "user":
            return event.user
        if kind == "source_ip":
            return event.source_ip
        return event.credential_id

    def accepts(self, kind: KeyKind, event: AccessEvent) -> bool:
        """Whether any detector of ``kind`` looks at ``event``. When none does, :meth:`step`
        leaves the key's state as it was, so a stream need not forward the event to that
        kind's topic nor write the key's state back."""
        return any(det.accepts(event) for det in self._by_kind.get(kind, ()))

    def step(
        self, kind: KeyKind, state: KeyState | None, event: AccessEvent
    ) -> tuple[KeyState | None, list[Finding]]:
        """Fold one event into one key's state. Returns (state to keep or None, findings).

        An event that no detector of this kind accepts leaves the state untouched (a key only
        such events touch keeps no state): duplicates of it could change nothing anyway.
        """
        dets = [det for det in self._by_kind.get(kind, ()) if det.accepts(event)]
        if not dets:
            return state, []
        st: KeyState = state if state is not None else {}
        seen: list[str] = st.setdefault("_seen", [])
        sid = _short_id(event.event_id)
        if sid in seen:
            return st, []
        seen.append(sid)
        if len(seen) > SEEN_IDS:
            del seen[0]
        findings: list[Finding] = []
        for det in dets:
            new, found = det.step(st.get(det.name), event)
            if new is None:
                st.pop(det.name, None)
            else:
                st[det.name] = new
            if found:
                findings.extend(found)
        return st, findings

    def run(self, events: Iterable[AccessEvent]) -> Iterator[Finding]:
        """Run every key kind over events in the order given, with in-memory state."""
        tables: dict[KeyKind, dict[str, KeyState]] = {k: {} for k in self._by_kind}
        for event in events:
            for kind, table in tables.items():
                key = self.key_for(kind, event)
                if key is None:
                    continue
                new, found = self.step(kind, table.get(key), event)
                if new is None:
                    table.pop(key, None)
                else:
                    table[key] = new
                yield from found
