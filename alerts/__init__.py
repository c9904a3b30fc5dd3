"""Alerts: the alert model, rendering, and delivery with retries.

Decision code here is pure; only :mod:`alerts.delivery` does I/O (through an injected
httpx transport and sleep function).
"""

from alerts.errors import AlertsError, DeliveryError
from alerts.model import Alert

__all__ = ["Alert", "AlertsError", "DeliveryError"]
