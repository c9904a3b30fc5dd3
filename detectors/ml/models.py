"""The shared anomaly models the detector can use, behind River's ``learn_one``/``score_one``.

Every model here scores in [0, 1], higher meaning more anomalous, takes the complete feature
dict of :mod:`detectors.ml.features` and gets its randomness only from ``seed``.
``benchmarks/ml_models.py`` compares them; docs/ml.md has the figures and the choice.

>>> m = make_model("tail_hist", seed=1)
>>> for i in range(50):
...     m.learn_one({**dict.fromkeys(FEATURES, 0.0), "rate": (i % 5) / 10})
>>> usual = {**dict.fromkeys(FEATURES, 0.0), "rate": 0.2}
>>> m.score_one(usual) < m.score_one({**usual, "hour_rarity": 1.0}) < m.score_one(
...     {**usual, "hour_rarity": 1.0, "new_resource": 1.0})
True
"""

from __future__ import annotations

import math
from collections.abc import Hashable
from typing import Any, Literal, Protocol, cast

from river.base import AnomalyDetector

from detectors.ml.features import FEATURES

__all__ = ["MODELS", "AnomalyModel", "GaussianTail", "ModelName", "TailHistogram", "make_model"]

ModelName = Literal["gaussian", "tail_hist", "hst", "oc_svm"]
MODELS: tuple[ModelName, ...] = ("gaussian", "tail_hist", "hst", "oc_svm")


class AnomalyModel(Protocol):
    """River's anomaly protocol (``x`` is a feature dict; River types it loosely)."""

    def learn_one(self, x: Any) -> None: ...

    def score_one(self, x: Any) -> float: ...


class GaussianTail(AnomalyDetector):
    """Per-feature running mean and variance over the population; the score grows with the
    upper-tail z-scores (one-sided: every feature is oriented so that high means unusual).

    A River anomaly detector (River's ``learn_one``/``score_one`` protocol, built on
    ``river.stats.Var``) in the spirit of River's univariate ``GaussianScorer``. Deterministic:
    it has no randomness. ``score = t / (t + 4 * z_scale)`` with ``t`` the norm of the positive
    z-scores, so it stays in [0, 1) and never saturates.
    """

    def __init__(self, features: tuple[str, ...] = FEATURES, z_scale: float = 3.0) -> None:
        from river.stats import Var  # imported when used: see make_model

        self.features = features
        self.z_scale = z_scale
        self._var = {f: Var() for f in features}

    def learn_one(self, x: dict[Hashable, Any]) -> None:
        for f, v in self._var.items():
            v.update(x[f])

    def score_one(self, x: dict[Hashable, Any]) -> float:
        total = 0.0
        for f, v in self._var.items():
            sd = math.sqrt(v.get()) if v.n > 1 else 0.0
            z = (x[f] - v.mean.get()) / (sd + 0.05)
            if z > 0:
                total += z * z
        t: float = math.sqrt(total)
        return t / (t + self.z_scale * 4)


class TailHistogram(AnomalyDetector):
    """Histogram-based outlier score, upper tail only: for each feature the share of learned
    values at least as high as this one (from ``bins`` equal bins), scored as its surprise
    ``-log(p)``; the surprises add up (features taken as independent). Deterministic.

    Unlike z-scores it does not over-reward a feature that is merely rare in a narrow
    distribution: a value of a feature is as unusual as the share of traffic that reaches it.
    """

    def __init__(self, features: tuple[str, ...] = FEATURES, bins: int = 20,
                 scale: float = 12.0) -> None:
        self.features = features
        self.bins = bins
        self.scale = scale
        self._counts = {f: [0] * bins for f in features}
        self._n = 0

    def learn_one(self, x: dict[Hashable, Any]) -> None:
        self._n += 1
        top = self.bins - 1
        for f, counts in self._counts.items():
            b = int(x[f] * self.bins)
            counts[b if b < top else top] += 1

    def score_one(self, x: dict[Hashable, Any]) -> float:
        total = 0.0
        n = self._n
        top = self.bins - 1
        for f, counts in self._counts.items():
            b = int(x[f] * self.bins)
            if b == 0:
                continue  # the lowest bin holds every "usual" value
            tail = sum(counts[b if b < top else top:])
            total -= math.log((tail + 1) / (n + 2))
        return total / (total + self.scale)


class _Squashed:
    """A River detector whose unbounded scores are mapped monotonically into [0, 1)."""

    def __init__(self, inner: AnomalyDetector) -> None:
        self.inner = inner

    def learn_one(self, x: dict[str, float]) -> None:
        self.inner.learn_one(cast("dict[Hashable, Any]", x))

    def score_one(self, x: dict[str, float]) -> float:
        s = max(0.0, float(self.inner.score_one(cast("dict[Hashable, Any]", x))))
        return s / (1.0 + s)


def make_model(name: ModelName, *, seed: int, hst_trees: int = 25, hst_height: int = 10,
               hst_window: int = 1000) -> AnomalyModel:
    """A fresh model. HST gets fixed [0, 1] limits for every feature (see DESIGN.md).

    River's models are imported here, not with this module: ``river.anomaly`` pulls in
    SciPy, ~2 s at every start of every command (measured with ``-X importtime``), and the
    default model needs neither.
    """
    if name == "hst":
        from river import anomaly

        return anomaly.HalfSpaceTrees(
            n_trees=hst_trees, height=hst_height, window_size=hst_window,
            limits={f: (0.0, 1.0) for f in FEATURES}, seed=seed,
        )
    if name == "oc_svm":
        from river import anomaly

        # OneClassSVM has no randomness (zero-initialised weights); the seed is unused.
        return _Squashed(anomaly.OneClassSVM(nu=0.05))
    if name == "tail_hist":
        return TailHistogram()
    return GaussianTail()
