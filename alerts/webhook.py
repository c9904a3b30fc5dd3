"""Generic webhook body (Standard Webhooks envelope: ``type``, ``timestamp``, ``data``). Pure.

>>> from alerts.model import Notification
>>> from alerts.testing import make_alert
>>> webhook_payload(Notification(alert=make_alert()))["type"]
'alert.trigger'
"""

from __future__ import annotations

from typing import Any

from alerts.model import Notification

__all__ = ["webhook_payload"]


def webhook_payload(note: Notification) -> dict[str, Any]:
    return {
        "type": f"alert.{note.kind}",
        "timestamp": note.alert.last_seen.isoformat(),
        "data": note.model_dump(mode="json"),
    }
