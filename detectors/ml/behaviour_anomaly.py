"""``behaviour_anomaly``: a user acting unlike themselves, scored by one shared online model.

Per-key state is the user's baseline (:mod:`detectors.ml.features`, a few hundred bytes of
JSON). The model and the adaptive threshold are shared by all users and live in the detector
instance, not in per-key state: the pipeline saves them with :meth:`BehaviourAnomaly.checkpoint`
on a schedule and loads them with :meth:`BehaviourAnomaly.restore` on start.

River's discipline: each event is scored before anything learns from it; a user's first
``warmup_events`` events only build their baseline (no score, no alert, not learned by the
model); no alert before the model has learned ``model_warmup_events`` events (the threshold
takes scores from half-way through that warm-up); an event that is flagged is not learned;
randomness comes only from ``seed``. One finding per incident: flagged events less than
``incident_gap_seconds`` apart belong to the same incident.

After each :meth:`~BehaviourAnomaly.step`, ``last_score``, ``last_threshold`` and
``last_flagged`` hold the event's score (None during the user's warm-up), the threshold in
force and whether the event was flagged; the
:class:`~detectors.engine.Engine` uses them to fuse the ML score with rule findings.

>>> from detectors.testing import make_event
>>> det = BehaviourAnomaly(BehaviourAnomalyConfig(warmup_events=2))
>>> state, found = det.step(None, make_event(ts=0, action="view", resource="wiki"))
>>> det.last_score is None, found
(True, [])
>>> for i in range(3):
...     state, found = det.step(state, make_event(ts=60 * i, action="view", resource="wiki"))
>>> 0.0 <= det.last_score <= 1.0, state["n"]
(True, 4)
"""

from __future__ import annotations

import math
import pickle
from typing import Any

from pydantic import Field

from detectors.base import Detector, DetectorConfig
from detectors.events import AccessEvent
from detectors.findings import Finding, Severity
from detectors.ml.explain import describe, usual_days, usual_hours
from detectors.ml.features import (
    FEATURES,
    Context,
    Observation,
    new_baseline,
)
from detectors.ml.models import AnomalyModel, ModelName, make_model
from detectors.ml.threshold import AdaptiveThreshold

__all__ = ["CHECKPOINT_VERSION", "BehaviourAnomaly", "BehaviourAnomalyConfig"]

CHECKPOINT_VERSION = 1


class BehaviourAnomalyConfig(DetectorConfig):
    model: ModelName = Field(default="tail_hist",
                             description="shared model: gaussian, tail_hist, hst, oc_svm")
    seed: int = Field(default=42, description="seed of the shared model")
    warmup_events: int = Field(default=150, ge=1, le=100_000,
                               description="events per user that only build their baseline")
    model_warmup_events: int = Field(default=5000, ge=0, le=10_000_000,
                                     description="events the model learns before any alert")
    quantile: float = Field(default=0.99, gt=0.5, lt=1.0,
                            description="threshold = this quantile of recent scores ...")
    spread: float = Field(default=0.8, ge=0.0, le=100.0,
                          description="... plus spread x (that quantile - the median)")
    threshold_half_life_events: int = Field(
        default=100_000, ge=100, le=100_000_000,
        description="scores older than this many events weigh half in the threshold")
    min_threshold: float = Field(default=0.0, ge=0.0, le=1.0, description="floor of the threshold")
    incident_gap_seconds: float = Field(default=3600.0, gt=0, le=7 * 86400,
                                        description="quiet time that closes an incident")
    smoothing: float = Field(default=0.5, ge=0.0, lt=1.0,
                             description="weight of the user's previous score in the score")
    top_features: int = Field(default=3, ge=1, le=10, description="features named in explanations")
    sensitive_environments: tuple[str, ...] | None = Field(
        default=None, description="omitted: the top-level sensitive_environments")
    severity: Severity = "medium"


class BehaviourAnomaly(Detector[BehaviourAnomalyConfig]):
    """Behaviour unusual for the user, by a shared River model over per-user features."""

    name = "behaviour_anomaly"
    key_kind = "user"
    config_model = BehaviourAnomalyConfig

    def __init__(self, config: BehaviourAnomalyConfig, **kwargs: Any) -> None:
        super().__init__(config, **kwargs)
        sensitive = config.sensitive_environments
        if sensitive is None:
            sensitive = self.context.sensitive_environments
        self._ctx = Context(frozenset(sensitive))
        self._model: AnomalyModel = make_model(config.model, seed=config.seed)
        self._threshold = AdaptiveThreshold(
            config.quantile, spread=config.spread, half_life=config.threshold_half_life_events)
        self._learned = 0
        # Population mean and spread of each feature over learned events, for explanations.
        self._pop: dict[str, list[float]] = {f: [0.0, 0.0, 0.0] for f in FEATURES}
        self.last_score: float | None = None
        self.last_threshold: float = 1.0
        self.last_flagged = False

    # The shared model -------------------------------------------------------------------

    def checkpoint(self) -> bytes:
        """The shared model, threshold and counters as bytes (pickle).

        Trust: :meth:`restore` unpickles, which can run code. Only restore checkpoints this
        deployment wrote, from storage only it can write to.
        """
        return pickle.dumps(
            {"version": CHECKPOINT_VERSION, "model_name": self.config.model,
             "features": FEATURES, "model": self._model, "threshold": self._threshold,
             "learned": self._learned, "pop": self._pop},
            protocol=pickle.HIGHEST_PROTOCOL,
        )

    def restore(self, data: bytes) -> None:
        """Replace the shared model with a :meth:`checkpoint`; reject an incompatible one."""
        try:
            saved = pickle.loads(data)
        except (pickle.UnpicklingError, EOFError, AttributeError, ImportError) as exc:
            raise ValueError(f"not a readable checkpoint ({type(exc).__name__})") from exc
        if not isinstance(saved, dict) or saved.get("version") != CHECKPOINT_VERSION:
            raise ValueError("not a behaviour_anomaly checkpoint of a supported version")
        if saved["model_name"] != self.config.model or tuple(saved["features"]) != FEATURES:
            raise ValueError("checkpoint was made with another model or feature set")
        self._model = saved["model"]
        self._threshold = saved["threshold"]
        self._learned = saved["learned"]
        self._pop = saved["pop"]

    @property
    def learned_events(self) -> int:
        """Events the shared model has learned (flagged and warm-up events are not learned)."""
        return self._learned

    @property
    def model_ready(self) -> bool:
        cfg = self.config
        return (self._learned >= cfg.model_warmup_events
                and self._threshold.n >= max(cfg.model_warmup_events // 2, 1))

    # Per event --------------------------------------------------------------------------

    def step(self, state: dict[str, Any] | None, event: AccessEvent) -> tuple[Any, list[Finding]]:
        cfg = self.config
        st: dict[str, Any] = (
            state if state is not None else {"n": 0, "b": new_baseline(), "i": None})
        base = st["b"]
        self.last_threshold = max(cfg.min_threshold, self._threshold.value())
        findings: list[Finding] = []
        self.last_flagged = False
        seen = Observation(base, event, self._ctx)
        if st["n"] < cfg.warmup_events:
            self.last_score = None
        else:
            feats = seen.features(base)
            raw = self._model.score_one(feats)
            prev = st.get("a", raw)
            score = round(cfg.smoothing * prev + (1.0 - cfg.smoothing) * raw, 6)
            st["a"] = score
            self.last_score = score
            flagged = self.model_ready and score >= self.last_threshold
            self.last_flagged = flagged
            if self._learned >= cfg.model_warmup_events // 2:  # skip the model's first noise
                self._threshold.update(score)
            if flagged:
                found = self._incident(st, event, seen, feats, score)
                if found is not None:
                    findings.append(found)
            else:
                self._learn(feats)
        seen.fold(base)  # after the finding, which explains against the baseline before it
        st["n"] += 1
        return st, findings

    def _learn(self, feats: dict[str, float]) -> None:
        self._model.learn_one(feats)
        self._learned += 1
        if self._learned % 4:
            return  # a deterministic 1-in-4 sample is plenty for the population statistics
        for f, acc in self._pop.items():  # Welford: [n, mean, M2]
            x = feats[f]
            acc[0] += 1
            d = x - acc[1]
            acc[1] += d / acc[0]
            acc[2] += d * (x - acc[1])

    def _incident(self, st: dict[str, Any], event: AccessEvent, seen: Observation,
                  feats: dict[str, float], score: float) -> Finding | None:
        ts = event.ts
        open_ = st["i"]
        if open_ is not None and ts - open_[1] <= self.config.incident_gap_seconds:
            open_[1] = max(open_[1], ts)
            open_[2] += 1
            return None
        st["i"] = [event.event_id, ts, 1]
        return self._finding(st["b"], seen.b, event, feats, score)

    def contributions(self, feats: dict[str, float]) -> list[tuple[str, float]]:
        """Features above the population's usual level, most unusual first (z-scores)."""
        out = []
        for f, (n, mean, m2) in self._pop.items():
            sd = math.sqrt(m2 / n) if n > 1 else 0.0
            z = (feats[f] - mean) / (sd + 0.05)
            if z > 0.5:
                out.append((f, z))
        out.sort(key=lambda fz: (-fz[1], FEATURES.index(fz[0])))
        return out

    def _finding(self, base: dict[str, Any], window: list[Any], event: AccessEvent,
                 feats: dict[str, float], score: float) -> Finding:
        cfg = self.config
        user = event.user
        top: list[tuple[str, float]] = []
        reasons: list[str] = []
        for f, z in self.contributions(feats):  # the top features, one sentence each
            reason = describe(f, user, event, base, window)
            if reason not in reasons:
                top.append((f, z))
                reasons.append(reason)
            if len(top) == cfg.top_features:
                break
        why = "; ".join(reasons) if reasons else "an unusual combination of features"
        return Finding(
            detector=self.name,
            severity=cfg.severity,
            key_kind="user",
            key=user,
            title=f"Unusual behaviour for {user}",
            explanation=(f"{user}'s {event.action} looks unlike them: {why} "
                         f"(anomaly score {score:.3f}, threshold {self.last_threshold:.3f})."),
            incident=event.event_id,
            first_seen=event.ts,
            last_seen=event.ts,
            event_ids=(event.event_id,),
            user=user,
            source_ips=(event.source_ip,) if event.source_ip else (),
            evidence={
                "score": round(score, 6),
                "threshold": round(self.last_threshold, 6),
                "model": cfg.model,
                "top_features": [
                    {"feature": f, "value": round(feats[f], 4),
                     "population_mean": round(self._pop[f][1], 4), "z": round(z, 2),
                     "reason": r}
                    for (f, z), r in zip(top, reasons, strict=True)
                ],
                "baseline": _baseline_summary(base),
            },
        )


def _baseline_summary(base: dict[str, Any]) -> dict[str, Any]:
    return {
        "usual_hours_utc": usual_hours(base["h"]),
        "usual_days": usual_days(base["d"]),
        "events_per_10min": round(max(base["r"], 1.0), 2),
        "distinct_resources_per_10min": round(max(base["u"], 1.0), 2),
        "known_resources": len(base["kr"]),
        "known_networks": len(base["kn"]),
    }
