"""Errors of the alerts package. Messages are one line and never contain a secret.

::

    AccessGuardError            (detectors.errors)
    └── AlertsError
        ├── DeliveryError       a destination did not take a message (after retries, or at once)
        ├── DestinationError    a destination cannot be built: missing secret, host not allowed
        └── SilenceError        the silence file or a silence change is invalid

Invalid alerts config files raise :class:`detectors.errors.ConfigError`, like detector configs.
"""

from __future__ import annotations

from detectors.errors import AccessGuardError

__all__ = ["AlertsError", "DeliveryError", "DestinationError", "SilenceError"]


class AlertsError(AccessGuardError):
    """Root of the alerts package's errors."""


class DeliveryError(AlertsError):
    """A destination did not take the alert; ``reason`` is one line, free of secrets.

    ``retryable`` is False when the destination refused the alert itself (a 4xx other than
    429): re-sending the same payload will not help.
    """

    def __init__(
        self, reason: str, *, attempts: int, retryable: bool, status: int | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts
        self.retryable = retryable
        self.status = status


class DestinationError(AlertsError):
    """A destination cannot be built from config and environment."""


class SilenceError(AlertsError):
    """The silence file cannot be read or written, or a change to it is invalid."""
