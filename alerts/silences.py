"""Silences: "don't page about alerts like these until then, because ...".

:class:`Silence` and :func:`active_silence` are pure. :class:`SilenceStore` keeps silences in a
small JSON file for the CLI; each change returns an audit record (a JSON-compatible dict) for
the caller to print and archive. Time is always passed in.

>>> s = Silence(id="s1", matchers=Matchers(labels={"user": "alice"}), starts_at=0, ends_at=60,
...             reason="pentest", created_by="bob")
>>> active_silence([s], {"user": "alice"}, now=30).id
's1'
>>> active_silence([s], {"user": "alice"}, now=61) is None
True
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from alerts.errors import SilenceError
from alerts.matchers import Matchers

__all__ = ["Silence", "SilenceStore", "active_silence"]


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat().replace("+00:00", "Z")


class Silence(BaseModel):
    """Mutes matching alerts from ``starts_at`` until ``ends_at`` (POSIX seconds, UTC)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(min_length=1, max_length=64)
    matchers: Matchers
    starts_at: float
    ends_at: float
    reason: str = Field(min_length=1, max_length=1000)
    created_by: str = Field(min_length=1, max_length=256)

    @model_validator(mode="after")
    def _ends_after_start(self) -> Silence:
        if self.ends_at <= self.starts_at:
            raise ValueError("ends_at must be after starts_at")
        if self.matchers == Matchers():
            raise ValueError("a silence needs at least one matcher (it would mute everything)")
        return self

    def active(self, now: float) -> bool:
        return self.starts_at <= now < self.ends_at

    def summary(self) -> str:
        return (f"{self.id} [{self.matchers.describe()}] until {_iso(self.ends_at)} "
                f"by {self.created_by}: {self.reason}")


def active_silence(
    silences: Iterable[Silence], labels: Mapping[str, str], *, now: float
) -> Silence | None:
    """The first silence active at ``now`` that matches the labels, if any."""
    for s in silences:
        if s.active(now) and s.matchers.matches(labels):
            return s
    return None


class SilenceStore:
    """Silences in one JSON file (``{"version": 1, "silences": [...]}``), written atomically."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    def load(self) -> list[Silence]:
        try:
            raw = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return []
        except OSError as exc:
            raise SilenceError(f"{self.path}: cannot read: {exc.strerror or exc}") from exc
        try:
            data = json.loads(raw)
            return [Silence.model_validate(s) for s in data["silences"]]
        except (ValueError, KeyError, TypeError, ValidationError) as exc:
            raise SilenceError(f"{self.path}: not a valid silence file") from exc

    def current(self, *, now: float, include_expired: bool = False) -> list[Silence]:
        """Silences not yet expired at ``now`` (or all of them)."""
        return [s for s in self.load() if include_expired or now < s.ends_at]

    def add(
        self, matchers: Matchers, *, duration_seconds: float, reason: str, created_by: str,
        now: float,
    ) -> tuple[Silence, dict[str, Any]]:
        """Create a silence starting ``now``; return it and its audit record."""
        if duration_seconds <= 0:
            raise SilenceError("the duration must be positive")
        silences = self.load()
        taken = {s.id for s in silences}
        seed = f"{matchers.model_dump_json()}|{now}|{reason}|{created_by}"
        sid = hashlib.sha256(seed.encode()).hexdigest()[:12]
        while sid in taken:
            sid = hashlib.sha256(sid.encode()).hexdigest()[:12]
        try:
            silence = Silence(id=sid, matchers=matchers, starts_at=now,
                              ends_at=now + duration_seconds, reason=reason, created_by=created_by)
        except ValidationError as exc:
            raise SilenceError(exc.errors()[0]["msg"]) from exc
        self._save([*silences, silence])
        return silence, _audit("silence.add", silence, actor=created_by, now=now)

    def remove(self, silence_id: str, *, actor: str, now: float) -> dict[str, Any]:
        """Delete a silence; return the audit record. Unknown ids are an error."""
        silences = self.load()
        gone = [s for s in silences if s.id == silence_id]
        if not gone:
            raise SilenceError(f"no silence with id {silence_id!r}")
        self._save([s for s in silences if s.id != silence_id])
        return _audit("silence.remove", gone[0], actor=actor, now=now)

    def _save(self, silences: list[Silence]) -> None:
        data = {"version": 1, "silences": [s.model_dump(mode="json") for s in silences]}
        tmp = self.path.with_name(self.path.name + ".tmp")
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
            os.replace(tmp, self.path)
        except OSError as exc:
            raise SilenceError(f"{self.path}: cannot write: {exc.strerror or exc}") from exc


def _audit(action: str, silence: Silence, *, actor: str, now: float) -> dict[str, Any]:
    return {
        "type": "audit",
        "action": action,
        "at": _iso(now),
        "actor": actor,
        "silence": silence.model_dump(mode="json"),
    }
