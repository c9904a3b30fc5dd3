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

from pydantic import BaseModel, ConfigDict, PrivateAttr, field_validator

from detectors.findings import SEVERITIES, Severity

__all__ = ["Matchers", "severity_rank"]


_RANK: dict[str, int] = {s: i for i, s in enumerate(SEVERITIES)}


def severity_rank(severity: str) -> int:
    """Position in :data:`~detectors.findings.SEVERITIES` (info = 0); unknown = -1."""
    return _RANK.get(severity, -1)


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

    _checks: tuple[tuple[str, Any], ...] = PrivateAttr(default=())

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

    def model_post_init(self, context: Any) -> None:
        # Flatten the conditions once: matching runs for every alert against every route,
        # silence and inhibition rule.
        checks: list[tuple[str, Any]] = []
        if self.severity is not None:
            checks.append(("in", ("severity", frozenset(self.severity))))
        if self.min_severity is not None:
            checks.append(("min", severity_rank(self.min_severity)))
        if self.detector is not None:
            checks.append(("in", ("detector", frozenset(self.detector))))
        if self.environment is not None:
            checks.append(("in", ("environment", frozenset(self.environment))))
        checks += [("eq", item) for item in self.labels.items()]
        checks += [("re", (k, _compiled(p))) for k, p in self.labels_re.items()]
        self._checks = tuple(checks)

    def matches(self, labels: Mapping[str, str]) -> bool:
        # Read the private attribute from its slot: pydantic's __getattr__ path is slow.
        private = self.__pydantic_private__ or {}
        for op, arg in private.get("_checks", ()):
            if op == "in":
                if labels.get(arg[0]) not in arg[1]:
                    return False
            elif op == "eq":
                if labels.get(arg[0]) != arg[1]:
                    return False
            elif op == "min":
                if severity_rank(labels.get("severity", "")) < arg:
                    return False
            else:
                value = labels.get(arg[0])
                if value is None or arg[1].fullmatch(value) is None:
                    return False
        return True

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
