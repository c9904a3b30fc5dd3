"""What a config change does to the alerts over the same history: added, removed, changed.

Two runs over the same events are compared alert by alert:

1. Findings with the same ``alert_id`` are the same incident. They are *changed* when what
   the analyst sees differs (severity, title, explanation, evidence, event ids, first/last
   event time), else unchanged.
2. An alert id depends on the event that opened the incident, so a new threshold can move
   the id of what is plainly the same incident. The leftovers are therefore paired by
   detector, key kind and key with overlapping ``[first_seen, last_seen]`` (largest overlap
   first, then the nearest start): such a pair is *changed*, with ``alert_id`` among what
   changed.
3. What is left is *removed* (only in the old run) or *added* (only in the new one).

>>> from detectors.findings import Finding
>>> def f(incident, t0, t1, severity="high"):
...     return Finding("failed_login_burst", severity, "user", "ann", "t", "x", incident,
...                    t0, t1, (incident,), user="ann")
>>> d = diff_findings([f("e1", 0, 10), f("e7", 500, 510)], [f("e3", 5, 12), f("e9", 900, 900)])
>>> [(c.change, c.fields) for c in d.changes]
[('changed', ('alert_id', 'event_ids', 'first_seen', 'last_seen')), ('removed', ()), ('added', ())]

Config differences are listed key by key (dotted paths, ``MISSING`` for absent keys):

>>> config_changes({"a": {"b": 1, "c": [1]}}, {"a": {"b": 2, "c": [1]}, "d": True})
[ConfigChange(path='a.b', old=1, new=2), ConfigChange(path='d', old=<missing>, new=True)]
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from detectors.findings import Finding

__all__ = [
    "COMPARED_FIELDS",
    "MISSING",
    "AlertChange",
    "ChangeKind",
    "ConfigChange",
    "FindingsDiff",
    "config_changes",
    "diff_findings",
]

ChangeKind = Literal["added", "removed", "changed"]

#: What makes two findings of one incident differ, in the order reported.
COMPARED_FIELDS = ("severity", "title", "explanation", "evidence", "event_ids", "first_seen",
                   "last_seen")


class _Missing:
    def __repr__(self) -> str:
        return "<missing>"


#: Stands for a config key present on one side only.
MISSING: Any = _Missing()


@dataclass(frozen=True, slots=True)
class AlertChange:
    """One difference: ``old`` and/or ``new`` finding, and for ``changed`` which fields."""

    change: ChangeKind
    old: Finding | None
    new: Finding | None
    fields: tuple[str, ...] = ()

    @property
    def finding(self) -> Finding:
        """The finding to show: the new one when there is one."""
        found = self.new if self.new is not None else self.old
        assert found is not None
        return found

    @property
    def detector(self) -> str:
        return self.finding.detector

    @property
    def first_seen(self) -> float:
        return self.finding.first_seen


@dataclass
class FindingsDiff:
    changes: list[AlertChange]
    unchanged: int
    unchanged_per_detector: Counter[str] = field(default_factory=Counter)

    def counts(self) -> dict[str, Counter[str]]:
        """Per detector: how many added, removed, changed and unchanged (sorted by name)."""
        out: dict[str, Counter[str]] = defaultdict(Counter)
        for c in self.changes:
            out[c.detector][c.change] += 1
        for name, n in self.unchanged_per_detector.items():
            out[name]["unchanged"] += n
        return {name: out[name] for name in sorted(out)}


def _differences(old: Finding, new: Finding) -> tuple[str, ...]:
    return tuple(name for name in COMPARED_FIELDS if getattr(old, name) != getattr(new, name))


def _overlap(a: Finding, b: Finding) -> float | None:
    """Length of the overlap of the two incidents' time spans; None when they are apart."""
    lo, hi = max(a.first_seen, b.first_seen), min(a.last_seen, b.last_seen)
    return hi - lo if lo <= hi else None


def diff_findings(old: Iterable[Finding], new: Iterable[Finding]) -> FindingsDiff:
    """Compare two runs over the same events; changes come sorted by incident start."""
    olds, news = list(old), list(new)
    by_id: dict[str, list[Finding]] = defaultdict(list)
    for f in news:
        by_id[f.alert_id].append(f)
    changes: list[AlertChange] = []
    unchanged: Counter[str] = Counter()
    left_old: list[Finding] = []
    for o in olds:  # the same id more than once pairs in order of appearance
        same = by_id.get(o.alert_id)
        if not same:
            left_old.append(o)
            continue
        n = same.pop(0)
        fields = _differences(o, n)
        if fields:
            changes.append(AlertChange("changed", o, n, fields))
        else:
            unchanged[o.detector] += 1
    left_new = [f for fs in by_id.values() for f in fs]
    left_new.sort(key=lambda f: f.first_seen)
    pool: dict[tuple[str, str, str], list[Finding]] = defaultdict(list)
    for n in left_new:
        pool[(n.detector, n.key_kind, n.key)].append(n)
    for o in sorted(left_old, key=lambda f: f.first_seen):
        candidates = pool.get((o.detector, o.key_kind, o.key), [])
        best: tuple[float, float, int] | None = None
        for i, n in enumerate(candidates):
            overlap = _overlap(o, n)
            if overlap is None:
                continue
            rank = (-overlap, abs(n.first_seen - o.first_seen), i)
            if best is None or rank < best:
                best = rank
        if best is None:
            changes.append(AlertChange("removed", o, None))
            continue
        n = candidates.pop(best[2])
        changes.append(AlertChange("changed", o, n, ("alert_id", *_differences(o, n))))
    changes.extend(AlertChange("added", None, n) for ns in pool.values() for n in ns)
    order = {"changed": 0, "removed": 1, "added": 2}
    changes.sort(key=lambda c: (c.first_seen, order[c.change]))
    return FindingsDiff(changes=changes, unchanged=sum(unchanged.values()),
                        unchanged_per_detector=unchanged)


@dataclass(frozen=True, slots=True)
class ConfigChange:
    path: str
    old: Any
    new: Any


def config_changes(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[ConfigChange]:
    """Every leaf that differs between two JSON-like config dicts, as dotted paths.

    Mappings are compared key by key; anything else (lists, scalars) as a whole value.
    """
    out: list[ConfigChange] = []

    def walk(a: Any, b: Any, path: str) -> None:
        if isinstance(a, Mapping) and isinstance(b, Mapping):
            for key in [*a, *(k for k in b if k not in a)]:
                sub = f"{path}.{key}" if path else str(key)
                walk(a.get(key, MISSING), b.get(key, MISSING), sub)
        elif a != b:
            out.append(ConfigChange(path, a, b))

    walk(old, new, "")
    return out
