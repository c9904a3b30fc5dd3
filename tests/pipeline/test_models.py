"""Shared-model checkpoints: written atomically, restored on start, mismatches start fresh."""

import logging
from pathlib import Path

from detectors.config import default_config
from detectors.engine import Engine
from detectors.ml.scenarios import MlScenarioSpec, generate_ml
from pipeline.models import restore_models, save_models

LOG = logging.getLogger("test")


def trained_engine() -> tuple[Engine, list]:
    engine = Engine(default_config())
    events = [ev for ev, _ in generate_ml(MlScenarioSpec(users=5, days=7, seed=3))]
    list(engine.run(events[: len(events) // 2]))
    return engine, events[len(events) // 2:]


def test_a_restored_model_scores_like_the_one_that_was_saved(tmp_path: Path) -> None:
    engine, rest = trained_engine()
    assert save_models(engine, tmp_path, LOG) > 0
    assert not list(tmp_path.glob(".*.tmp"))
    fresh = Engine(default_config())
    assert restore_models(fresh, tmp_path, LOG) == ["behaviour_anomaly"]
    assert scores(fresh, rest) == scores(engine, rest)


def scores(engine: Engine, events: list) -> list:
    """The shared model's score of each event, from empty per-user state."""
    det = next(d for d in engine._by_kind["user"] if d.name == "behaviour_anomaly")
    states: dict = {}
    out = []
    for ev in events:
        states[ev.user], _ = engine.step("user", states.get(ev.user), ev)
        out.append(det.last_score)
    assert any(s is not None for s in out)
    return out


def test_a_corrupt_checkpoint_is_reported_and_skipped(tmp_path: Path) -> None:
    (tmp_path / "behaviour_anomaly.ckpt").write_bytes(b"not a pickle")
    assert restore_models(Engine(default_config()), tmp_path, LOG) == []
    assert restore_models(Engine(default_config()), tmp_path / "none", LOG) == []
