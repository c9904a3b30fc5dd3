"""The worker's audit trail: what it saw and said, in the tamper-evident archive.

One :class:`Audit` per worker process, writing its own hash chain under
``ACCESSGUARD_ARCHIVE_DIR/<worker name>`` (a lock file refuses a second writer on the same
chain). Accepted events and dead letters are written per batch, fsynced before the batch's
offsets may be committed; alerts, delivery outcomes, silence-set changes and the config
are written as they happen. With no archive directory configured, every call is a no-op.
"""

from __future__ import annotations

import fcntl
import hashlib
import logging
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from detectors.events import AccessEvent
from pipeline.archive import ArchiveWriter, alert_data, dead_letter_data, event_data
from pipeline.archive.writer import Item
from pipeline.errors import PipelineError
from pipeline.logs import log_event

__all__ = ["Audit"]


class Audit:
    def __init__(self, writer: ArchiveWriter | None = None, *, lock: IO[str] | None = None,
                 log: logging.Logger | None = None) -> None:
        self._writer = writer
        self._lock = lock
        self._log = log
        self.records = 0

    @classmethod
    def open(cls, root: Path, worker_name: str, key: Any, log: logging.Logger,
             **options: Any) -> Audit:
        path = root / worker_name
        path.mkdir(parents=True, exist_ok=True)
        lock = (path / ".writer.lock").open("w")
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            lock.close()
            raise PipelineError(f"archive {path} is in use by another worker; give each "
                                "worker its own ACCESSGUARD_WORKER_NAME") from exc
        writer = ArchiveWriter.open_dir(path, key, **options)
        if writer.recovered:
            log_event(log, "archive.recovered", segments=writer.recovered)
        return cls(writer, lock=lock, log=log)

    @property
    def enabled(self) -> bool:
        return self._writer is not None

    def batch(self, items: list[Item]) -> None:
        """Append and fsync: call before the batch's offsets may be committed."""
        if self._writer is not None and items:
            self.records += self._writer.append_many(items, sync=True)

    @staticmethod
    def event(event: AccessEvent) -> Item:
        return ("event", event_data(event), event.timestamp)

    @staticmethod
    def dead_letter(raw: bytes, reason: str, **context: Any) -> Item:
        return ("dead_letter", dead_letter_data(raw, reason, **context), datetime.now(UTC))

    def record(self, kind: str, data: dict[str, Any], when: datetime | float) -> None:
        if self._writer is not None:
            self._writer.append(kind, data, when)
            self._writer.flush()
            self.records += 1

    def alert(self, alert: Any, decision: str, reason: str) -> None:
        if self._writer is not None:
            self.record("alert", {**alert_data(alert), "decision": decision, "reason": reason},
                        alert.last_seen)

    def config(self, path: Path | None, text: str, change: str) -> None:
        self.record("config", {"path": str(path) if path else "(built-in defaults)",
                               "sha256": hashlib.sha256(text.encode()).hexdigest(),
                               "change": change, "content": text}, datetime.now(UTC))

    def rotate_if_due(self) -> None:
        if self._writer is not None:
            self._writer.rotate_if_due()

    def close(self) -> None:
        if self._writer is not None:
            self._writer.close()
            self._writer = None
        if self._lock is not None:
            self._lock.close()
            self._lock = None
