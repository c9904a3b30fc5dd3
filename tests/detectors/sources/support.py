"""Shared helpers for the source-adapter tests: fixture paths and the real public samples.

The samples live outside the repository (``../shared/data`` beside the clone); see each
folder's PROVENANCE.md there. They are read in place, never copied into the project.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from pathlib import Path

from detectors.events import AccessEvent
from detectors.sources import Parsed, Skipped, SourceOptions, parse_source

FIXTURES = Path(__file__).parent / "fixtures"
_REPO = Path(__file__).resolve().parents[3]


def shared_data_dir() -> Path:
    """``$ACCESSGUARD_SHARED_DATA``, else ``<repo>/../shared/data``, else ``/work/shared/data``."""
    candidates = [_REPO / ".." / "shared" / "data", Path("/work/shared/data")]
    if os.environ.get("ACCESSGUARD_SHARED_DATA"):
        candidates.insert(0, Path(os.environ["ACCESSGUARD_SHARED_DATA"]))
    for path in candidates:
        if (path / "README.md").is_file():
            return path.resolve()
    raise FileNotFoundError(f"shared sample data not found in any of {candidates}")


def run(fmt: str, lines: Iterable[str], **options: object) -> list[Parsed]:
    return list(parse_source(fmt, lines, SourceOptions(**options)))  # type: ignore[arg-type]


def events(items: list[Parsed]) -> list[AccessEvent]:
    return [p for p in items if isinstance(p, AccessEvent)]


def skips(items: list[Parsed]) -> list[Skipped]:
    return [p for p in items if isinstance(p, Skipped)]


def read_lines(path: Path) -> list[str]:
    with path.open(encoding="utf-8") as fh:
        return fh.readlines()
