"""Errors of the pipeline package.

::

    AccessGuardError (detectors.errors)
    └── PipelineError
        ├── BrokerError       the embedded broker did not start, or a cluster is unreachable
        └── UsageError        a command got input it cannot use (missing file, bad address)
"""

from __future__ import annotations

from detectors.errors import AccessGuardError

__all__ = ["BrokerError", "PipelineError", "UsageError"]


class PipelineError(AccessGuardError):
    """Root of the pipeline's errors."""


class BrokerError(PipelineError):
    """The broker could not be started or reached."""


class UsageError(PipelineError):
    """Bad input to a command; the message is the one line the user sees."""
