"""Errors raised by the pure detector core.

::

    AccessGuardError
    ├── EventError          an input record is not a valid v1 access event
    ├── ConfigError         a detector config file is unreadable or invalid
    └── SourceError         a log source cannot be read as asked (unknown format, bad options)

Callers at the edges (agents, CLI) catch these; the core never swallows them.
"""

from __future__ import annotations

__all__ = ["AccessGuardError", "ConfigError", "EventError", "SourceError"]


class AccessGuardError(Exception):
    """Root of every error accessguard raises on purpose."""


class EventError(AccessGuardError):
    """An input record is not a valid v1 access event; ``reason`` says why in one line."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class ConfigError(AccessGuardError):
    """A config file is unreadable or invalid; ``problems`` lists one line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


class SourceError(AccessGuardError):
    """A source adapter cannot run as asked (unknown format, bad options, missing year).

    Bad *lines* are not errors: adapters report them as ``Skipped`` records and go on.
    """
