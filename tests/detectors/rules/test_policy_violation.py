import pytest

from detectors.config import parse_config
from detectors.errors import ConfigError
from detectors.findings import Finding
from detectors.rules.policy_violation import PolicyViolation, PolicyViolationConfig
from detectors.testing import make_event

POLICY = {
    "engineer": [
        {"actions": ["view"]},
        {"actions": ["create", "modify"], "resources": ["db/*", "k8s/prod/deploy"]},
        {"actions": ["delete"], "environments": ["staging"]},
    ],
    "dba": [{"actions": ["*"], "resources": ["db/prod/*"], "environments": ["production"]}],
}


def check(*, roles: list[str] | tuple[str, ...] = ("engineer",), action: str = "view",
          resource: str | None = "db/prod/customers", environment: str | None = "production",
          outcome: str = "success", **cfg: object) -> list[Finding]:
    det = PolicyViolation(PolicyViolationConfig(roles=POLICY, **cfg))  # type: ignore[arg-type]
    ev = make_event(action=action, resource=resource, environment=environment, roles=roles,
                    outcome=outcome)
    if not det.accepts(ev):
        return []
    state, found = det.step(None, ev)
    assert state is None
    return found


@pytest.mark.parametrize(
    ("roles", "action", "resource", "environment"),
    [
        (["engineer"], "view", "anything/at/all", None),
        (["engineer"], "modify", "db/prod/customers", "production"),   # '*' crosses '/'
        (["engineer"], "modify", "k8s/prod/deploy", "production"),
        (["engineer"], "delete", "db/staging/orders", "staging"),
        (["dba"], "delete", "db/prod/customers", "production"),
        (["nobody", "dba"], "delete", "db/prod/x", "production"),      # any role may allow
    ],
)
def test_allowed_actions_do_not_fire(roles: list[str], action: str, resource: str,
                                     environment: str | None) -> None:
    assert check(roles=roles, action=action, resource=resource, environment=environment) == []


@pytest.mark.parametrize(
    ("roles", "action", "resource", "environment"),
    [
        (["engineer"], "delete", "db/prod/customers", "production"),   # wrong environment
        (["engineer"], "delete", "db/staging/orders", None),           # environment required
        (["engineer"], "modify", "k8s/prod/deploy2", "production"),    # exact glob, no prefix
        (["engineer"], "modify", None, "production"),                  # no resource: only '*'
        (["dba"], "delete", "db/prod", "production"),                  # 'db/prod/*' needs a '/'
        (["dba"], "view", "db/prod/x", "staging"),
    ],
)
def test_forbidden_successes_fire(roles: list[str], action: str, resource: str | None,
                                  environment: str | None) -> None:
    found = check(roles=roles, action=action, resource=resource, environment=environment)
    assert len(found) == 1
    assert found[0].evidence["rule"] == "no_role_allows"
    assert found[0].severity == "high"


def test_denied_and_failed_actions_are_the_policy_working() -> None:
    assert check(action="delete", outcome="denied") == []
    assert check(action="delete", outcome="failure") == []


def test_exempt_actions_are_not_checked_and_the_list_is_configurable() -> None:
    assert check(roles=[], action="login") == []
    assert len(check(roles=["engineer"], action="token_use", exempt_actions=[])) == 1


def test_unknown_roles_grant_nothing_and_are_named() -> None:
    [f] = check(roles=["intern"], action="view")
    assert f.evidence["unknown_roles"] == ["intern"]
    assert "intern not in the policy" in f.explanation


def test_events_without_roles_are_flagged_unless_configured_to_skip() -> None:
    [f] = check(roles=[], action="view")
    assert "with no roles" in f.explanation
    assert check(roles=[], action="view", missing_roles="skip") == []


def test_explanation_names_user_action_resource_environment_and_roles() -> None:
    [f] = check(action="delete")
    for part in ("alice", "delete", "db/prod/customers", "production", "engineer",
                 "no rule of the RBAC policy allows"):
        assert part in f.explanation
    assert (f.key_kind, f.key, f.incident, f.event_ids) == ("user", "alice", f.event_ids[0],
                                                            f.event_ids)


def test_each_violation_is_its_own_incident() -> None:
    det = PolicyViolation(PolicyViolationConfig(roles=POLICY))  # type: ignore[arg-type]
    ids = set()
    for _ in range(3):
        _, found = det.step(None, make_event(action="delete", resource="db/prod/x",
                                             environment="production", roles=["engineer"]))
        ids.add(found[0].alert_id)
    assert len(ids) == 3


@pytest.mark.parametrize(
    ("pattern", "reason"),
    [("db/[prod", "is never closed"), ("db/[z-a]", "reversed"), ("", "non-empty"),
     (" db/*", "surrounding spaces")],
)
def test_bad_globs_are_config_errors_naming_the_field(pattern: str, reason: str) -> None:
    text = ("detectors:\n  policy_violation:\n    roles:\n      eng:\n"
            f"        - actions: [view]\n          resources: [{pattern!r}]\n")
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="p.yaml")
    [problem] = info.value.problems
    assert problem.startswith("p.yaml:6: detectors.policy_violation.roles.eng.0.resources.0:")
    assert reason in problem


def test_a_permission_needs_actions() -> None:
    with pytest.raises(ConfigError, match=r"roles\.eng\.0\.actions: Field required"):
        parse_config("detectors:\n  policy_violation:\n    roles:\n      eng:\n        - {}\n")
