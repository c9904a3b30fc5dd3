"""Shared factories for the ML detector tests: a small trained setup, fast to build."""

from __future__ import annotations

from typing import Any

import pytest

from detectors.ml.behaviour_anomaly import BehaviourAnomaly, BehaviourAnomalyConfig
from detectors.ml.scenarios import MlScenarioSpec, generate_ml
from detectors.scenario import Labelled

#: Small warm-ups so a few thousand events exercise alerts, learning and thresholds.
SMALL = {"warmup_events": 40, "model_warmup_events": 500, "threshold_half_life_events": 2000}


def small_config(**overrides: Any) -> BehaviourAnomalyConfig:
    return BehaviourAnomalyConfig(**{**SMALL, **overrides})


@pytest.fixture(scope="session")
def ml_rows() -> list[Labelled]:
    return generate_ml(MlScenarioSpec(users=20, days=7, seed=3))


def run(det: BehaviourAnomaly, rows: list[Labelled], states: dict[str, Any]) -> list[Any]:
    """Feed rows; return (event_id, score, finding ids) per event."""
    out = []
    for ev, _ in rows:
        states[ev.user], found = det.step(states.get(ev.user), ev)
        out.append((ev.event_id, det.last_score, tuple(f.alert_id for f in found)))
    return out
