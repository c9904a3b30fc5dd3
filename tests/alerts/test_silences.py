"""The silence store: file-backed, every change audited."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from alerts.errors import SilenceError
from alerts.matchers import Matchers
from alerts.silences import SilenceStore, active_silence


def test_add_list_remove_with_audit_records(tmp_path: Path) -> None:
    store = SilenceStore(tmp_path / "s.json")
    assert store.current(now=0) == []
    s, audit = store.add(Matchers(labels={"user": "alice"}), duration_seconds=3600,
                         reason="pentest", created_by="bob", now=1_772_442_000)
    assert audit["action"] == "silence.add" and audit["actor"] == "bob"
    assert audit["at"] == "2026-03-02T09:00:00Z" and audit["silence"]["id"] == s.id
    json.dumps(audit)
    assert store.current(now=1_772_442_000 + 10) == [s]
    assert store.current(now=1_772_442_000 + 3600) == []
    assert store.current(now=1_772_442_000 + 3600, include_expired=True) == [s]
    assert active_silence(store.load(), {"user": "alice"}, now=1_772_442_001) == s
    audit = store.remove(s.id, actor="carol", now=1_772_442_100)
    assert (audit["action"], audit["actor"], audit["silence"]["reason"]) == (
        "silence.remove", "carol", "pentest")
    assert store.load() == []


def test_bad_changes_and_files_are_silence_errors(tmp_path: Path) -> None:
    store = SilenceStore(tmp_path / "s.json")
    with pytest.raises(SilenceError, match="no silence with id"):
        store.remove("nope", actor="x", now=0)
    with pytest.raises(SilenceError, match="would mute everything"):
        store.add(Matchers(), duration_seconds=60, reason="r", created_by="x", now=0)
    with pytest.raises(SilenceError, match="duration must be positive"):
        store.add(Matchers(detector="d"), duration_seconds=0, reason="r", created_by="x", now=0)
    (tmp_path / "s.json").write_text("{not json")
    with pytest.raises(SilenceError, match="not a valid silence file"):
        store.load()


def test_ids_are_unique_even_for_identical_requests(tmp_path: Path) -> None:
    store = SilenceStore(tmp_path / "s.json")
    a, _ = store.add(Matchers(detector="d"), duration_seconds=60, reason="r", created_by="x",
                     now=0)
    b, _ = store.add(Matchers(detector="d"), duration_seconds=60, reason="r", created_by="x",
                     now=0)
    assert a.id != b.id and len(store.load()) == 2
