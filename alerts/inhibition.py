"""Inhibition: an open alert of one kind mutes alerts of another kind that share labels.

Example: an ``account_lockout`` for a user inhibits ``failed_login_burst`` for the same user
(the lockout already says it, louder). Pure. Open source alerts are remembered as small
JSON-compatible records ``{"labels": {...}, "until": ts}`` that the caller keeps (e.g. in a
table) and passes back in.

>>> rule = InhibitRule(source=Matchers(detector="account_lockout"),
...                    target=Matchers(detector="failed_login_burst"), equal=("user",))
>>> src = inhibit_source({"detector": "account_lockout", "user": "al"}, [rule], until=100)
>>> inhibiting([rule], [src], {"detector": "failed_login_burst", "user": "al"}, now=50) is rule
True
>>> inhibiting([rule], [src], {"detector": "failed_login_burst", "user": "bo"}, now=50) is None
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pydantic import BaseModel, ConfigDict

from alerts.matchers import Matchers

__all__ = ["InhibitRule", "inhibit_source", "inhibiting", "remember_source"]

#: Open sources kept per caller-side bucket; the oldest-ending are dropped first.
MAX_SOURCES = 64


class InhibitRule(BaseModel):
    """While an alert matching ``source`` is open, alerts matching ``target`` are muted if
    every label named in ``equal`` has the same value in both (missing counts as different)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str | None = None
    source: Matchers
    target: Matchers
    equal: tuple[str, ...] = ()

    def describe(self, index: int) -> str:
        return self.name or (f"inhibit_rules[{index}] ({self.source.describe()} mutes "
                             f"{self.target.describe()} on {','.join(self.equal) or '*'})")


def inhibit_source(
    labels: Mapping[str, str], rules: Sequence[InhibitRule], *, until: float
) -> dict[str, Any] | None:
    """A record to keep if this alert can inhibit others (until ``until``), else None."""
    if any(r.source.matches(labels) for r in rules):
        return {"labels": dict(labels), "until": until}
    return None


def remember_source(
    sources: Sequence[Mapping[str, Any]], labels: Mapping[str, str],
    rules: Sequence[InhibitRule], *, until: float, now: float,
) -> list[dict[str, Any]]:
    """``sources`` with this alert added (if it is a source) and expired ones dropped.

    A source with the same labels is replaced (its ``until`` moves on), so the list stays
    small; at most :data:`MAX_SOURCES` are kept. The input is not mutated.
    """
    kept = [dict(s) for s in sources if now < s["until"] and s["labels"] != labels]
    new = inhibit_source(labels, rules, until=until)
    if new is not None:
        kept.append(new)
    kept.sort(key=lambda s: s["until"])
    return kept[-MAX_SOURCES:]


def inhibiting(
    rules: Sequence[InhibitRule], sources: Iterable[Mapping[str, Any]],
    labels: Mapping[str, str], *, now: float,
) -> InhibitRule | None:
    """The first rule under which an open source mutes an alert with these labels."""
    candidates = [r for r in rules if r.target.matches(labels)]
    if not candidates:
        return None
    live = [s["labels"] for s in sources if now < s["until"] and s["labels"] != labels]
    for rule in candidates:
        for src in live:
            if rule.source.matches(src) and all(
                k in labels and src.get(k) == labels[k] for k in rule.equal
            ):
                return rule
    return None
