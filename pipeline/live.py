"""What a running worker may swap without a restart: the detector engine, the alerts config
and its destinations. Agents read the current values at each batch or message, so a reload
takes effect from the next one; per-key state carries over (it is keyed by detector name)."""

from __future__ import annotations

from dataclasses import dataclass

from alerts.config import AlertsConfig
from alerts.delivery import Dispatcher
from detectors.engine import Engine

__all__ = ["Live"]


@dataclass
class Live:
    engine: Engine
    alerts: AlertsConfig
    dispatcher: Dispatcher
    version: int = 1
