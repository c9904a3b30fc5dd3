"""Every detector accessguard knows, by config key. Add new detectors here."""

from __future__ import annotations

from detectors.base import Detector
from detectors.ml.behaviour_anomaly import BehaviourAnomaly
from detectors.rules.failed_login_burst import FailedLoginBurst

__all__ = ["DETECTORS"]

DETECTORS: dict[str, type[Detector]] = {  # type: ignore[type-arg]
    cls.name: cls
    for cls in (
        FailedLoginBurst,
        BehaviourAnomaly,
    )
}
