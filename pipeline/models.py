"""Checkpoints of the shared online models (not per-key state: that lives in tables).

Each worker trains its shared model on its own partitions and keeps it in
``DATA_DIR/models/<detector>.ckpt``: restored on start, written on a timer and at stop (to a
temporary file, then renamed, so a crash never leaves half a checkpoint). Checkpoints are
pickles: they are read only from the worker's own data directory.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from detectors.engine import Engine
from pipeline.logs import log_event

__all__ = ["restore_models", "save_models"]


def save_models(engine: Engine, directory: Path, log: logging.Logger) -> int:
    """Write every shared model's checkpoint; returns the bytes written."""
    saved = engine.checkpoint()
    if not saved:
        return 0
    directory.mkdir(parents=True, exist_ok=True)
    total = 0
    for name, data in saved.items():
        tmp = directory / f".{name}.ckpt.tmp"
        with tmp.open("wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, directory / f"{name}.ckpt")
        total += len(data)
    log_event(log, "models.checkpointed", models=sorted(saved), bytes=total)
    return total


def restore_models(engine: Engine, directory: Path, log: logging.Logger) -> list[str]:
    """Load the checkpoints there are; a missing, unreadable or mismatched one starts fresh."""
    restored = []
    for name in engine.checkpoint():
        path = directory / f"{name}.ckpt"
        if not path.is_file():
            continue
        try:
            engine.restore({name: path.read_bytes()})
        except (OSError, ValueError) as exc:
            log_event(log, "models.not_restored", level=logging.WARNING, model=name,
                      reason=str(exc).splitlines()[0])
            continue
        restored.append(name)
    if restored:
        log_event(log, "models.restored", models=restored)
    return restored
