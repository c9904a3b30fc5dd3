"""Every detector accessguard knows, by config key. Add new detectors here."""

from __future__ import annotations

from detectors.base import Detector
from detectors.ml.behaviour_anomaly import BehaviourAnomaly
from detectors.rules.credential_hygiene import CredentialHygiene
from detectors.rules.denied_action_burst import DeniedActionBurst
from detectors.rules.elevation_abuse import ElevationAbuse
from detectors.rules.failed_login_burst import FailedLoginBurst
from detectors.rules.failure_then_success import FailureThenSuccess
from detectors.rules.impossible_travel import ImpossibleTravel
from detectors.rules.mfa_fatigue import MfaFatigue
from detectors.rules.mfa_missing import MfaMissing
from detectors.rules.new_source import NewSource
from detectors.rules.password_spray import PasswordSpray
from detectors.rules.policy_violation import PolicyViolation
from detectors.rules.unscheduled_access import UnscheduledAccess

__all__ = ["DETECTORS"]

DETECTORS: dict[str, type[Detector]] = {
    cls.name: cls
    for cls in (
        FailedLoginBurst,
        PasswordSpray,
        FailureThenSuccess,
        MfaFatigue,
        DeniedActionBurst,
        MfaMissing,
        NewSource,
        ImpossibleTravel,
        PolicyViolation,
        UnscheduledAccess,
        ElevationAbuse,
        CredentialHygiene,
        BehaviourAnomaly,
    )
}
