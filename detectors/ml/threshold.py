"""An adaptive alert threshold: a high quantile of recent scores, kept in a fading histogram.

Scores in [0, 1] go into ``bins`` equal bins; every ``half_life`` updates all counts are
halved, so the quantile follows drift while remembering enough history for extreme quantiles
(a P² estimator is unreliable that far in the tail). The quantile is recomputed every
``refresh`` updates, so reading it is cheap. Pure and deterministic; picklable.

>>> q = StreamingQuantile(q=0.9, bins=100, refresh=1)
>>> for i in range(1000):
...     q.update((i % 100) / 100)
>>> round(q.value(), 2)
0.9
"""

from __future__ import annotations

__all__ = ["StreamingQuantile"]


class StreamingQuantile:
    def __init__(self, q: float, *, bins: int = 2000, half_life: int = 200_000,
                 refresh: int = 500) -> None:
        if not 0.0 < q < 1.0:
            raise ValueError("q must be in (0, 1)")
        self.q = q
        self.bins = bins
        self.half_life = half_life
        self.refresh = refresh
        self.counts = [0.0] * bins
        self.total = 0.0
        self.n = 0
        self._cached = 1.0

    def update(self, score: float) -> None:
        i = min(self.bins - 1, max(0, int(score * self.bins)))
        self.counts[i] += 1.0
        self.total += 1.0
        self.n += 1
        if self.n % self.half_life == 0:
            self.counts = [c / 2 for c in self.counts]
            self.total /= 2
        if self.n % self.refresh == 0:
            self._cached = self._compute()

    def _compute(self) -> float:
        tail = (1.0 - self.q) * self.total
        seen = 0.0
        for i in range(self.bins - 1, -1, -1):
            seen += self.counts[i]
            if seen > tail:
                return (i + 1) / self.bins  # the upper edge of the bin holding the quantile
        return 0.0

    def value(self) -> float:
        """The current estimate of the ``q`` quantile (1.0 before the first refresh)."""
        return self._cached
