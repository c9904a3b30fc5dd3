"""Every Kafka topic name accessguard uses, in one place. Versioned: a breaking change to a
topic's payload gets a new name, so old and new workers never read each other's records."""

from __future__ import annotations

__all__ = [
    "ALERTS",
    "ALERTS_DLQ",
    "ALL",
    "EVENTS",
    "EVENTS_BY_CREDENTIAL",
    "EVENTS_BY_IP",
    "EVENTS_DLQ",
    "NOTIFICATIONS",
    "REKEYED",
]

EVENTS = "accessguard.events.v1"            # input: v1 access events, key = user
EVENTS_DLQ = "accessguard.events.dlq.v1"    # rejected input: raw bytes + reason + origin
EVENTS_BY_IP = "accessguard.events.by-ip.v1"  # valid events re-keyed by source IP
EVENTS_BY_CREDENTIAL = "accessguard.events.by-credential.v1"  # ... and by credential id
ALERTS = "accessguard.alerts.v1"            # alerts, key = user (else the detector's key)
NOTIFICATIONS = "accessguard.notifications.v1"  # routed messages to send, key = alert id
ALERTS_DLQ = "accessguard.alerts.dlq.v1"    # messages a destination did not take, with reason

ALL = (EVENTS, EVENTS_DLQ, EVENTS_BY_IP, EVENTS_BY_CREDENTIAL, ALERTS, NOTIFICATIONS, ALERTS_DLQ)

#: The re-keyed input topic of each key kind other than "user".
REKEYED = {"source_ip": EVENTS_BY_IP, "credential": EVENTS_BY_CREDENTIAL}
