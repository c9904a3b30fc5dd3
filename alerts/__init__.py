"""Alerts: from findings to pages. Lifecycle, routing, rendering, delivery with retries.

Decision code is pure (time is passed in): :mod:`alerts.lifecycle` (once per incident,
re-alerts, resolve), :mod:`alerts.inhibition`, :mod:`alerts.silences`, :mod:`alerts.routing`
and the renderers (:mod:`alerts.slack`, :mod:`alerts.pagerduty`, :mod:`alerts.webhook`,
:mod:`alerts.signing`). Only :mod:`alerts.delivery` does network I/O (through an injected
httpx transport, clock and sleep) and only :mod:`alerts.destinations` reads secrets (from an
environment mapping or secret files it is given).
"""

from alerts.config import AlertsConfig, load_alerts_config, parse_alerts_config
from alerts.deadletter import dead_letter, parse_dead_letter, redrive
from alerts.delivery import DeliveryResult, Dispatcher, HttpSender, Outcome, RetryPolicy, Sender
from alerts.destinations import build_sender, build_senders
from alerts.errors import AlertsError, DeliveryError, DestinationError, SilenceError
from alerts.inhibition import InhibitRule, remember_source
from alerts.lifecycle import (
    Decision,
    LifecyclePolicy,
    expire,
    mute_reason,
    observe,
    partition_key,
    state_key,
)
from alerts.matchers import Matchers
from alerts.model import Alert, Notification
from alerts.routing import Route, RouteMatch, route, route_matches
from alerts.silences import Silence, SilenceStore, active_silence

__all__ = [
    "Alert",
    "AlertsConfig",
    "AlertsError",
    "Decision",
    "DeliveryError",
    "DeliveryResult",
    "DestinationError",
    "Dispatcher",
    "HttpSender",
    "InhibitRule",
    "LifecyclePolicy",
    "Matchers",
    "Notification",
    "Outcome",
    "RetryPolicy",
    "Route",
    "RouteMatch",
    "Sender",
    "Silence",
    "SilenceError",
    "SilenceStore",
    "active_silence",
    "build_sender",
    "build_senders",
    "dead_letter",
    "expire",
    "load_alerts_config",
    "mute_reason",
    "observe",
    "parse_alerts_config",
    "parse_dead_letter",
    "partition_key",
    "redrive",
    "remember_source",
    "route",
    "route_matches",
    "state_key",
]
