"""Errors of the alerts package.

::

    AlertsError
    └── DeliveryError       a destination did not accept an alert (after retries, or at once)
"""

from __future__ import annotations

__all__ = ["AlertsError", "DeliveryError"]


class AlertsError(Exception):
    """Root of the alerts package's errors."""


class DeliveryError(AlertsError):
    """A destination did not take the alert; ``reason`` is one line, free of secrets."""

    def __init__(self, reason: str, *, attempts: int, retryable: bool) -> None:
        super().__init__(reason)
        self.reason = reason
        self.attempts = attempts
        self.retryable = retryable
