"""Alert and config diffs between two runs over the same history."""

from detectors.diff import MISSING, config_changes, diff_findings
from detectors.findings import Finding


def f(incident: str, t0: float, t1: float, *, key: str = "ann", severity: str = "high",
      detector: str = "failed_login_burst", events: tuple[str, ...] | None = None) -> Finding:
    return Finding(detector, severity, "user", key, "title", f"{incident} {t0}-{t1}", incident,
                   t0, t1, events or (incident,), user=key)


def test_identical_runs_have_no_changes() -> None:
    run = [f("e1", 0, 10), f("e2", 100, 110, key="bob")]
    d = diff_findings(run, list(run))
    assert d.changes == [] and d.unchanged == 2
    assert d.counts() == {"failed_login_burst": {"unchanged": 2}}


def test_same_id_different_severity_is_changed_with_the_fields() -> None:
    d = diff_findings([f("e1", 0, 10)], [f("e1", 0, 10, severity="critical")])
    assert [(c.change, c.fields) for c in d.changes] == [("changed", ("severity",))]
    assert d.changes[0].old.severity == "high" and d.changes[0].new.severity == "critical"


def test_overlapping_incident_with_another_id_is_changed_not_added_and_removed() -> None:
    d = diff_findings([f("e1", 0, 10)], [f("e2", 8, 20)])
    assert [c.change for c in d.changes] == ["changed"]
    assert d.changes[0].fields[0] == "alert_id"


def test_disjoint_or_other_key_is_removed_and_added() -> None:
    d = diff_findings([f("e1", 0, 10)], [f("e2", 11, 20), f("e3", 0, 10, key="bob")])
    assert sorted(c.change for c in d.changes) == ["added", "added", "removed"]
    assert d.counts()["failed_login_burst"] == {"added": 2, "removed": 1}


def test_largest_overlap_wins_when_several_candidates() -> None:
    d = diff_findings([f("e1", 0, 100)], [f("e2", 90, 200), f("e3", 10, 80)])
    changed = [c for c in d.changes if c.change == "changed"]
    assert len(changed) == 1 and changed[0].new.incident == "e3"
    assert [c.new.incident for c in d.changes if c.change == "added"] == ["e2"]


def test_config_changes_lists_leaves_with_missing_keys() -> None:
    old = {"detectors": {"x": {"threshold": 5, "enabled": True}}, "roles": {"a": [1]}}
    new = {"detectors": {"x": {"threshold": 3, "enabled": True}}, "roles": {"a": [1, 2]},
           "extra": 1}
    got = [(c.path, c.old, c.new) for c in config_changes(old, new)]
    assert got == [("detectors.x.threshold", 5, 3), ("roles.a", [1], [1, 2]),
                   ("extra", MISSING, 1)]
