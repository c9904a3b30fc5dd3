"""Every detector accessguard knows, by config key. Add new detectors here."""

from __future__ import annotations

from detectors.base import Detector
from detectors.rules.credential_hygiene import CredentialHygiene
from detectors.rules.elevation_abuse import ElevationAbuse
from detectors.rules.failed_login_burst import FailedLoginBurst
from detectors.rules.policy_violation import PolicyViolation
from detectors.rules.unscheduled_access import UnscheduledAccess

__all__ = ["DETECTORS"]

DETECTORS: dict[str, type[Detector]] = {  # type: ignore[type-arg]
    cls.name: cls
    for cls in (
        FailedLoginBurst,
        PolicyViolation,
        UnscheduledAccess,
        ElevationAbuse,
        CredentialHygiene,
    )
}
