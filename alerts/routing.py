"""The routing tree: which destinations an alert goes to. Pure.

Semantics follow Alertmanager. The root route matches every alert and is the default. Below
a matching route, its child routes are tried in order; the first child that matches takes the
alert, and the search stops there unless that child says ``continue: true``. An alert that no
child takes stays with the parent. A route without ``destinations`` inherits its parent's.

>>> tree = Route(destinations=("console",), routes=(
...     Route(name="pager", min_severity="high", destinations=("pagerduty",), continue_=True),
...     Route(name="identity", detector="failed_login_burst", destinations=("slack",)),
... ))
>>> route(tree, {"severity": "critical", "detector": "failed_login_burst"})
['pagerduty', 'slack']
>>> route(tree, {"severity": "low", "detector": "other"})
['console']
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass

from pydantic import ConfigDict, Field

from alerts.matchers import Matchers

__all__ = ["Route", "RouteMatch", "route", "route_matches"]


class Route(Matchers):
    """One node: matchers, destinations, and child routes."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: str | None = None
    destinations: tuple[str, ...] = ()
    continue_: bool = Field(default=False, alias="continue")
    routes: tuple[Route, ...] = ()

    def label(self, index: int | None = None) -> str:
        if self.name:
            return self.name
        return f"routes[{index}]({self.describe()})" if index is not None else "root"

    def walk(self) -> Iterator[Route]:
        yield self
        for child in self.routes:
            yield from child.walk()


@dataclass(frozen=True, slots=True)
class RouteMatch:
    """A route that took the alert: its path from the root and its destinations."""

    path: tuple[str, ...]
    destinations: tuple[str, ...]

    def __str__(self) -> str:
        return f"{' > '.join(self.path)} -> {', '.join(self.destinations) or '(none)'}"


def route_matches(root: Route, labels: Mapping[str, str]) -> list[RouteMatch]:
    """Every route that takes the alert, in tree order (the root matches everything)."""
    return _descend(root, labels, (root.label(),), root.destinations)


def _descend(
    node: Route, labels: Mapping[str, str], path: tuple[str, ...], dests: tuple[str, ...]
) -> list[RouteMatch]:
    found: list[RouteMatch] = []
    for i, child in enumerate(node.routes):
        if not child.matches(labels):
            continue
        child_dests = child.destinations or dests
        found += _descend(child, labels, (*path, child.label(i)), child_dests)
        if not child.continue_:
            break
    return found or [RouteMatch(path, dests)]


def route(root: Route, labels: Mapping[str, str]) -> list[str]:
    """Destination names for an alert's label set, each once, in tree order."""
    out: dict[str, None] = {}
    for m in route_matches(root, labels):
        out.update(dict.fromkeys(m.destinations))
    return list(out)
