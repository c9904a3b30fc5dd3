"""The routing tree: Alertmanager-style matching, continue, inheritance, default."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from alerts.config import parse_alerts_config
from alerts.matchers import Matchers
from alerts.routing import Route, route, route_matches
from alerts.testing import make_alert

TREE = parse_alerts_config("""
destinations:
  console: {kind: console}
  pager: {kind: console}
  identity: {kind: console}
  prod: {kind: console}
routes:
  destinations: [console]
  routes:
    - name: page-critical
      min_severity: critical
      destinations: [pager]
      continue: true
    - name: identity
      detector: [failed_login_burst, password_spray]
      destinations: [identity]
      routes:
        - name: identity-prod
          environment: production
          destinations: [prod]
        - name: identity-team-label
          labels: {team: iam}
    - name: regex
      labels_re: {user: "svc-.*"}
      destinations: [prod]
""").routes


def labels(**kw: object) -> dict[str, str]:
    return make_alert(**kw).label_set()


def test_first_matching_child_wins_and_stops() -> None:
    assert route(TREE, labels()) == ["identity"]
    assert route(TREE, labels(environment="production")) == ["prod"]


def test_continue_lets_later_siblings_match_too() -> None:
    got = route_matches(TREE, labels(severity="critical"))
    assert [m.path for m in got] == [("root", "page-critical"), ("root", "identity")]
    assert route(TREE, labels(severity="critical")) == ["pager", "identity"]


def test_child_without_destinations_inherits_and_default_takes_the_rest() -> None:
    assert route(TREE, labels(labels={"team": "iam"})) == ["identity"]
    [m] = route_matches(TREE, labels(detector="other", severity="low"))
    assert m.path == ("root",) and m.destinations == ("console",)
    assert str(m) == "root -> console"
    assert route(TREE, labels(detector="other", user="svc-build")) == ["prod"]


def test_severity_matchers() -> None:
    m = Matchers(severity=["low", "high"])
    assert m.matches({"severity": "high"}) and not m.matches({"severity": "critical"})
    assert Matchers(min_severity="medium").matches({"severity": "critical"})
    assert not Matchers(min_severity="medium").matches({"severity": "unknown"})
    assert Matchers().matches({}) and Matchers().describe() == "*"
    with pytest.raises(ValidationError, match="not a valid regex"):
        Matchers(labels_re={"user": "("})


def test_route_is_deduplicated_and_ordered() -> None:
    tree = Route(destinations=("a",), routes=(
        Route(destinations=("b", "a"), continue_=True), Route(destinations=("a", "c"))))
    assert route(tree, {"severity": "low"}) == ["b", "a", "c"]
