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

Dispatch. Each event only visits the detectors that could accept it: the engine indexes
them by (key kind, action, outcome), asking each detector's ``admits`` (and
``needs_state``) once per pair. Per event it asks ``accepts`` only of detectors that
override it (conditions on more than the action and outcome), and skips a detector that
``needs_state`` while the key has none for it. Replay of every rule detector spends much of
its time here, so the hot path avoids per-event lookups, calls and allocations (bound
methods in a tuple per index entry, key getters per kind, the event's short id worked out
once).

Fusion with the behavioural model: for user-keyed events ``behaviour_anomaly`` runs first and
its score of the event is kept. Every other user-keyed finding then carries ``anomaly_score``
(and ``anomaly_threshold``) in its evidence; a detector whose section sets
``min_anomaly_score`` fires only if the score is at least that; one with
``escalate_on_anomaly`` gets its severity raised one level when the model flags the event too.
While the user or the shared model is still warming up there is no usable score: rules fire
unchanged (fail open). Findings keyed by source IP or credential are not fused (their events
are scored in another agent). Shared models are saved and loaded with
:meth:`Engine.checkpoint` and :meth:`Engine.restore`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import replace
from hashlib import blake2b
from operator import attrgetter
from typing import Any
from zlib import crc32

from detectors.base import Detector, DetectorContext
from detectors.config import Config
from detectors.events import AccessEvent
from detectors.findings import SEVERITIES, Finding, KeyKind
from detectors.geo import GeoLookup, NullGeoLookup
from detectors.ml.behaviour_anomaly import BehaviourAnomaly
from detectors.registry import DETECTORS

__all__ = ["SEEN_IDS", "Engine", "KeyShard", "KeyState"]

KeyState = dict[str, Any]

#: How many recent event ids per key are remembered for duplicate detection.
SEEN_IDS = 16
#: Distinct (kind, action, outcome) dispatch entries kept; actions are open-ended words.
MAX_DISPATCH_ENTRIES = 4096

_KEY_GETTERS: dict[KeyKind, Callable[[AccessEvent], str | None]] = {
    "user": attrgetter("user"),
    "source_ip": attrgetter("source_ip"),
    "credential": attrgetter("credential_id"),
}

# (name, needs_state, accepts or None when admits already decided, step, the detector when
# it is the behavioural model or None, the detector) of one detector, bound once.
_Plan = tuple[tuple[str, bool, Callable[[AccessEvent], bool] | None, Callable[..., Any],
                    BehaviourAnomaly | None, Detector], ...]


class KeyShard:
    """The keys one of ``count`` processes keeps state for: each (kind, key) belongs to
    exactly one shard, by a hash that is the same in every process (CRC-32, not ``hash``).

    Per-key state depends only on that key's events, so engines running the same events
    with shards ``0 .. count-1`` make, between them, exactly the findings one engine makes
    (:func:`detectors.replay.replay` with ``workers``). Answers are kept per key.
    """

    __slots__ = ("count", "index", "owned")

    def __init__(self, index: int, count: int) -> None:
        if not 0 <= index < count:
            raise ValueError(f"shard {index} of {count} does not exist")
        self.index = index
        self.count = count
        #: kind -> key -> whether this shard owns it; filled as keys are met.
        self.owned: dict[KeyKind, dict[str, bool]] = {k: {} for k in _KEY_GETTERS}

    def owns(self, kind: KeyKind, key: str) -> bool:
        known = self.owned[kind].get(key)
        if known is None:
            known = self.owned[kind][key] = self.shard_of(kind, key, self.count) == self.index
        return known

    @staticmethod
    def shard_of(kind: KeyKind, key: str, count: int) -> int:
        return crc32(f"{kind}\0{key}".encode()) % count


def _short_id(event_id: str) -> str:
    return blake2b(event_id.encode(), digest_size=8).hexdigest()


# A key's ``_seen`` is one string, ",id,id,...,": asking whether an id is in it is one
# substring search over a few hundred contiguous bytes. As a list of 16 strings it took 16
# comparisons, each a likely cache miss (17 % of replay's engine time), and more state.
_SEEN_STEP = 17  # a 16-hex-digit short id and its comma
_SEEN_FULL = 1 + _SEEN_STEP * SEEN_IDS


def _seen_text(seen: str | list[str] | None) -> str:
    """A key's ``_seen`` as text; a list is how states written before kept it."""
    if seen is None:
        return ","
    if isinstance(seen, str):
        return seen
    return "," + "".join(f"{short}," for short in seen[-SEEN_IDS:])


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
        by_kind: dict[KeyKind, list[Detector]] = {}
        for name, cls in DETECTORS.items():
            section = getattr(sections, name)
            if not section.enabled or (wanted is not None and name not in wanted):
                continue
            for kind in cls.key_kinds:
                det = cls(section, allowed_lateness_seconds=config.allowed_lateness_seconds,
                          context=self.context, kind=kind)
                by_kind.setdefault(kind, []).append(det)
        for dets in by_kind.values():  # the ML score must be known before rules are fused
            dets.sort(key=lambda d: not isinstance(d, BehaviourAnomaly))
        self._by_kind = by_kind
        self._dispatch: dict[tuple[KeyKind, str, str], _Plan] = {}
        # (kind, action, outcome) -> whether the kind takes every such event (True) or none
        # (False); absent when a detector's accepts looks at more.
        self._takes: dict[tuple[KeyKind, str, str], bool] = {}

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
        pair = (kind, event.action, event.outcome)
        known = self._takes.get(pair)
        if known is not None:  # the (action, outcome) alone decides
            return known
        plan = self._plan(kind, event.action, event.outcome)
        if all(accepts is None for _, _, accepts, _, _, _ in plan):
            if len(self._takes) < MAX_DISPATCH_ENTRIES:
                self._takes[pair] = bool(plan)
            return bool(plan)
        return any(accepts is None or accepts(event) for _, _, accepts, _, _, _ in plan)

    def may_take(self, kind: KeyKind, action: str, outcome: str) -> bool:
        """Whether any detector of ``kind`` admits events of this (action, outcome). When
        none does, such events leave every ``kind`` key's state as it was (see
        :meth:`accepts`, which may still say no to a given event)."""
        return bool(self._plan(kind, action, outcome))

    def step(
        self, kind: KeyKind, state: KeyState | None, event: AccessEvent
    ) -> tuple[KeyState | None, list[Finding]]:
        """Fold one event into one key's state. Returns (state to keep or None, findings).

        An event that no detector of this kind accepts leaves the state untouched (a key only
        such events touch keeps no state): duplicates of it could change nothing anyway.
        """
        return self._step_plan(self._plan(kind, event.action, event.outcome), state, event, None)

    @staticmethod
    def _step_plan(plan: _Plan, state: KeyState | None, event: AccessEvent, sid: str | None
                   ) -> tuple[KeyState | None, list[Finding]]:
        """``step`` once the plan is known; ``sid`` is the event's short id if worked out."""
        st: KeyState | None = None
        findings: list[Finding] = []
        ml: BehaviourAnomaly | None = None
        for name, gated, accepts, det_step, model, det in plan:
            if accepts is not None and not accepts(event):
                continue
            if st is None:  # the first detector that takes the event: duplicate check
                st = state if state is not None else {}
                seen = st.get("_seen")
                if seen.__class__ is not str:
                    seen = _seen_text(seen)
                if sid is None:
                    sid = _short_id(event.event_id)
                if f",{sid}," in seen:
                    return st, []
                st["_seen"] = (seen if len(seen) < _SEEN_FULL else seen[_SEEN_STEP:]) + sid + ","
            if gated and name not in st:
                continue  # step would find nothing and keep nothing
            new, found = det_step(st.get(name), event)
            if new is not None:
                st[name] = new
            elif name in st:
                del st[name]
            if model is not None:
                ml = model
            elif found and ml is not None:
                found = _fuse_score(det, found, ml)
            if found:
                findings.extend(found)
        if st is None:
            return state, findings
        return st, findings

    def _plan(self, kind: KeyKind, action: str, outcome: str) -> _Plan:
        """The detectors of ``kind`` that admit (action, outcome), bound once and kept."""
        known = self._dispatch.get((kind, action, outcome))
        if known is not None:
            return known
        plan = tuple(
            (det.name,
             det.needs_state(action, outcome),
             None if type(det).accepts is Detector.accepts else det.accepts,
             det.step,
             det if isinstance(det, BehaviourAnomaly) else None,
             det)
            for det in self._by_kind.get(kind, ()) if det.admits(action, outcome))
        if len(self._dispatch) < MAX_DISPATCH_ENTRIES:
            self._dispatch[(kind, action, outcome)] = plan
        return plan

    def checkpoint(self) -> dict[str, bytes]:
        """Shared model state of every detector that has one, by detector name."""
        return {d.name: d.checkpoint() for dets in self._by_kind.values() for d in dets
                if isinstance(d, BehaviourAnomaly)}

    def restore(self, saved: Mapping[str, bytes]) -> None:
        """Load :meth:`checkpoint` output; names of detectors not enabled here are ignored."""
        for dets in self._by_kind.values():
            for d in dets:
                if isinstance(d, BehaviourAnomaly) and d.name in saved:
                    d.restore(saved[d.name])

    @property
    def shares_state_across_keys(self) -> bool:
        """Whether a detector keeps state beyond its keys' (the behavioural model's shared
        model): such an engine cannot be split by :class:`KeyShard`."""
        return any(isinstance(d, BehaviourAnomaly) for dets in self._by_kind.values()
                   for d in dets)

    def run(self, events: Iterable[AccessEvent], shard: KeyShard | None = None
            ) -> Iterator[Finding]:
        """Run every key kind over events in the order given, with in-memory state.

        Kinds none of whose detectors could take an event's (action, outcome) are skipped
        for it: their ``step`` would leave the state as it is and find nothing. With a
        ``shard``, only the keys it owns are run (see :class:`KeyShard`). The body is
        :meth:`_step_plan` written out in the loop (replay spends most of its engine time on
        dispatch); the tests hold the two to the same findings.
        """
        if shard is not None and self.shares_state_across_keys:
            raise ValueError("an engine with a shared model cannot run one shard of the keys")
        tables: dict[KeyKind, dict[str, KeyState]] = {k: {} for k in self._by_kind}
        routes: dict[tuple[str, str], list[tuple[
            Callable[[AccessEvent], str | None], dict[str, KeyState], _Plan,
            KeyKind, dict[str, bool] | None]]] = {}
        for event in events:
            route = routes.get((event.action, event.outcome))
            if route is None:
                route = [(_KEY_GETTERS[kind], table, plan, kind,
                          None if shard is None else shard.owned[kind])
                         for kind, table in tables.items()
                         if (plan := self._plan(kind, event.action, event.outcome))]
                if len(routes) < MAX_DISPATCH_ENTRIES:
                    routes[(event.action, event.outcome)] = route
            sid = tail = ""  # ",id," and "id,": worked out once per event, when needed
            for key_of, table, plan, kind, owned in route:
                key = key_of(event)
                if key is None:
                    continue
                if owned is not None:  # one shard of the keys: skip the others'
                    mine = owned.get(key)
                    if mine is None:
                        mine = shard.owns(kind, key)  # type: ignore[union-attr]
                    if not mine:
                        continue
                st: KeyState | None = None
                ml: BehaviourAnomaly | None = None
                for name, gated, accepts, det_step, model, det in plan:
                    if accepts is not None and not accepts(event):
                        continue
                    if st is None:  # the first detector that takes the event: duplicate check
                        st = table.get(key)
                        if st is None:
                            st = table[key] = {}
                        seen = st.get("_seen")
                        if seen.__class__ is not str:
                            seen = _seen_text(seen)
                        if not sid:  # _short_id inlined
                            tail = blake2b(event.event_id.encode(), digest_size=8).hexdigest()
                            tail += ","
                            sid = "," + tail
                        if sid in seen:
                            break
                        st["_seen"] = (seen if len(seen) < _SEEN_FULL
                                       else seen[_SEEN_STEP:]) + tail
                    if gated and name not in st:
                        continue
                    new, found = det_step(st.get(name), event)
                    if new is not None:
                        st[name] = new
                    elif name in st:
                        del st[name]
                    if model is not None:
                        ml = model
                    elif found and ml is not None:
                        found = _fuse_score(det, found, ml)
                    if found:
                        yield from found


def _fuse_score(
    det: Detector,  # type: ignore[type-arg,unused-ignore]
    found: list[Finding], ml: BehaviourAnomaly,
) -> list[Finding]:
    """``found`` fused with the model's score of the event, if it has a usable one."""
    if ml.last_score is None or not ml.model_ready:
        return found  # warming up: fail open
    return _fuse(det, found, ml.last_score, ml.last_threshold, ml.last_flagged)


def _fuse(
    det: Detector,  # type: ignore[type-arg,unused-ignore]
    found: list[Finding], score: float, threshold: float, flagged: bool,
) -> list[Finding]:
    """Apply ``min_anomaly_score`` / ``escalate_on_anomaly`` and attach the score."""
    cfg = det.config
    if cfg.min_anomaly_score is not None and score < cfg.min_anomaly_score:
        return []
    out = []
    for f in found:
        evidence = {**f.evidence, "anomaly_score": round(score, 6),
                    "anomaly_threshold": round(threshold, 6)}
        severity = f.severity
        if cfg.escalate_on_anomaly and flagged:
            severity = SEVERITIES[min(len(SEVERITIES) - 1, SEVERITIES.index(severity) + 1)]
            evidence["escalated_by_anomaly"] = True
        out.append(replace(f, severity=severity, evidence=evidence))
    return out
