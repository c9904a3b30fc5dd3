"""Dead-letter records: a message no destination took, with the reason, ready to re-drive.

>>> from alerts.errors import DeliveryError
>>> from alerts.model import Notification
>>> from alerts.testing import make_alert
>>> note = Notification(alert=make_alert())
>>> rec = dead_letter(note, "slack", DeliveryError("slack: HTTP 400 (not retried)",
...                   attempts=1, retryable=False, status=400), failed_at=0)
>>> back, dest = parse_dead_letter(json.dumps(rec))
>>> back == note, dest, rec["reason"]
(True, 'slack', 'slack: HTTP 400 (not retried)')
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from pydantic import ValidationError

from alerts.delivery import Dispatcher, Outcome
from alerts.errors import AlertsError, DeliveryError
from alerts.model import Notification

__all__ = ["dead_letter", "parse_dead_letter", "redrive"]


def dead_letter(
    note: Notification, destination: str, error: DeliveryError, *, failed_at: float
) -> dict[str, Any]:
    """The JSON-compatible record for the alerts dead-letter topic (no secrets in it)."""
    return {
        "v": 1,
        "destination": destination,
        "reason": error.reason,
        "status": error.status,
        "attempts": error.attempts,
        "retryable": error.retryable,
        "failed_at": datetime.fromtimestamp(failed_at, UTC).isoformat(),
        "notification": note.model_dump(mode="json"),
    }


def parse_dead_letter(raw: bytes | str) -> tuple[Notification, str]:
    """The message and the destination it failed at, for re-driving."""
    try:
        rec = json.loads(raw)
        return Notification.model_validate(rec["notification"]), str(rec["destination"])
    except (ValueError, KeyError, TypeError, ValidationError) as exc:
        raise AlertsError("not a valid alerts dead-letter record") from exc


async def redrive(raw: bytes | str, dispatcher: Dispatcher) -> Outcome:
    """Re-send one dead-lettered message to the destination it failed at.

    The message keeps its idempotency key, so a receiver that got it after all sees a
    duplicate it can drop. A failed outcome is to be dead-lettered again (or left in place).
    """
    note, destination = parse_dead_letter(raw)
    [outcome] = await dispatcher.dispatch(note, [destination])
    return outcome
