"""An adaptive alert threshold from quantiles of recent scores, kept in a fading histogram.

``threshold = Q(q) + spread * (Q(q) - Q(0.5))``: a high quantile of the scores plus a margin
proportional to how far that quantile sits above the median, in the spirit of the box-plot
rule. Taking the extreme tail itself (say Q(0.99995)) does not work: planted or real anomalies
*are* that tail, so the threshold would climb over them; Q(0.99) and the median are set by
ordinary traffic. Not River's ``ThresholdFilter`` (see DESIGN.md).

Scores in [0, 1] go into ``bins`` equal bins; every ``half_life`` updates all counts are
halved, so the threshold follows drift. Quantiles are recomputed every ``refresh`` updates
(and at every power of two before that), so reading the threshold is cheap. Pure,
deterministic and picklable.

>>> t = AdaptiveThreshold(q=0.9, spread=0.0, bins=100, refresh=1)
>>> for i in range(1000):
...     t.update((i % 100) / 100)
>>> round(t.value(), 2), round(t.quantile(0.5), 2)
(0.9, 0.5)
"""

from __future__ import annotations

__all__ = ["AdaptiveThreshold"]


class AdaptiveThreshold:
    def __init__(self, q: float, *, spread: float = 1.5, bins: int = 2000,
                 half_life: int = 200_000, refresh: int = 500) -> None:
        if not 0.5 < q < 1.0:
            raise ValueError("q must be in (0.5, 1)")
        self.q = q
        self.spread = spread
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
        if self.n % self.refresh == 0 or self.n & (self.n - 1) == 0:  # early: at powers of 2
            hi = self.quantile(self.q)
            self._cached = min(1.0, hi + self.spread * (hi - self.quantile(0.5)))

    def quantile(self, q: float) -> float:
        """The upper edge of the bin holding the ``q`` quantile of the (faded) scores."""
        seen = 0.0
        want = q * self.total
        for i, c in enumerate(self.counts):
            seen += c
            if seen >= want and seen > 0:
                return (i + 1) / self.bins
        return 1.0

    def value(self) -> float:
        """The current threshold (1.0 before the first refresh)."""
        return self._cached
