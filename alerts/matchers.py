"""Label matchers: the one way routes, silences and inhibition rules select alerts.

Every condition given must hold (AND); a list means "any of these" (OR); an empty matcher
matches everything.

>>> m = Matchers(min_severity="high", labels={"environment": "production"})
>>> m.matches({"severity": "critical", "environment": "production"})
True
>>> m.matches({"severity": "medium", "environment": "production"})
False
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from pydantic import BaseModel, ConfigDict, field_validator

from detectors.findings import SEVERITIES, Severity

__all__ = ["Matchers", "severity_rank"]


def severity_rank(severity: str) -> int:
    """Position in :data:`~detectors.findings.SEVERITIES` (info = 0); unknown = -1."""
    try:
        return SEVERITIES.index(severity)
    except ValueError:
        return -1


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _as_list(value: Any) -> Any:
    return [value] if isinstance(value, str) else value


class Matchers(BaseModel):
    """Conditions on an alert's label set (:meth:`alerts.model.Alert.label_set`)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    severity: tuple[Severity, ...] | None = None
    min_severity: Severity | None = None
    detector: tuple[str, ...] | None = None
    environment: tuple[str, ...] | None = None
    labels: dict[str, str] = {}
    labels_re: dict[str, str] = {}

    _coerce = field_validator("severity", "detector", "environment", mode="before")(_as_list)

    @field_validator("labels_re")
    @classmethod
    def _valid_regexes(cls, value: dict[str, str]) -> dict[str, str]:
        for name, pattern in value.items():
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"labels_re.{name}: not a valid regex: {exc}") from exc
        return value

    def matches(self, labels: Mapping[str, str]) -> bool:
        sev = labels.get("severity", "")
        if self.severity is not None and sev not in self.severity:
            return False
        if self.min_severity is not None and severity_rank(sev) < severity_rank(self.min_severity):
            return False
        if self.detector is not None and labels.get("detector") not in self.detector:
            return False
        if self.environment is not None and labels.get("environment") not in self.environment:
            return False
        if any(labels.get(k) != v for k, v in self.labels.items()):
            return False
        return all(
            k in labels and _compiled(p).fullmatch(labels[k]) is not None
            for k, p in self.labels_re.items()
        )

    def describe(self) -> str:
        """Short text for route paths and audit lines, e.g. ``severity>=high,detector=x``."""
        parts = []
        if self.severity is not None:
            parts.append(f"severity={'|'.join(self.severity)}")
        if self.min_severity is not None:
            parts.append(f"severity>={self.min_severity}")
        if self.detector is not None:
            parts.append(f"detector={'|'.join(self.detector)}")
        if self.environment is not None:
            parts.append(f"environment={'|'.join(self.environment)}")
        parts += [f"{k}={v}" for k, v in self.labels.items()]
        parts += [f"{k}=~{v}" for k, v in self.labels_re.items()]
        return ",".join(parts) or "*"
