"""Exact offline evaluation of the behavioural detector on labelled scenarios.

ROC-AUC is the Mann-Whitney statistic with average ranks (ties count one half); PR-AUC is
average precision with tied scores taken as one threshold step. Both are exact, unlike River's
10-threshold ``ROCAUC`` (see DESIGN.md).

>>> roc_auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True])
0.75
>>> pr_auc([0.1, 0.4, 0.35, 0.8], [False, False, True, True])
0.8333333333333333
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from detectors.ml.behaviour_anomaly import BehaviourAnomaly, BehaviourAnomalyConfig
from detectors.ml.features import BUCKET_SECONDS
from detectors.scenario import Labelled

__all__ = ["Evaluation", "ambiguous_spans", "evaluate", "pr_auc", "roc_auc"]


def roc_auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Probability that a random positive outscores a random negative (ties: one half)."""
    order = sorted(range(len(scores)), key=lambda i: scores[i])
    ranks = [0.0] * len(scores)
    i = 0
    while i < len(order):  # average rank over each run of tied scores
        j = i
        while j + 1 < len(order) and scores[order[j + 1]] == scores[order[i]]:
            j += 1
        for k in range(i, j + 1):
            ranks[order[k]] = (i + j) / 2 + 1
        i = j + 1
    pos = sum(1 for y in labels if y)
    neg = len(labels) - pos
    if pos == 0 or neg == 0:
        raise ValueError("ROC-AUC needs both positives and negatives")
    rank_sum = sum(r for r, y in zip(ranks, labels, strict=True) if y)
    return (rank_sum - pos * (pos + 1) / 2) / (pos * neg)


def pr_auc(scores: Sequence[float], labels: Sequence[bool]) -> float:
    """Average precision: sum over distinct thresholds of (recall gained) x precision there."""
    pos = sum(1 for y in labels if y)
    if pos == 0:
        raise ValueError("PR-AUC needs positives")
    order = sorted(range(len(scores)), key=lambda i: -scores[i])
    tp = fp = 0
    ap = 0.0
    i = 0
    while i < len(order):
        j = i
        gained = 0
        while j < len(order) and scores[order[j]] == scores[order[i]]:
            if labels[order[j]]:
                gained += 1
            else:
                fp += 1
            j += 1
        tp += gained
        ap += (gained / pos) * (tp / (tp + fp))
        i = j
    return ap


@dataclass
class Evaluation:
    events: int
    scored: int
    positives: int
    roc_auc: float
    pr_auc: float
    flagged: int
    true_flags: int
    precision: float
    recall: float
    false_per_100k: float
    findings: int
    #: Per anomaly instance (kind, user): seconds from its first event to its first flag.
    delays: dict[tuple[str, str], float | None] = field(default_factory=dict)
    per_kind_auc: dict[str, float] = field(default_factory=dict)
    ambiguous: int = 0
    final_threshold: float = 1.0
    #: (score, label, user) of every counted event, for operating points other than the
    #: detector's own.
    scored_rows: list[tuple[float, str | None, str]] = field(default_factory=list, repr=False)

    def instances_at_fpr(self, per_100k: float) -> tuple[int, float]:
        """Anomaly instances caught by a fixed threshold letting through ``per_100k`` benign
        events per 100,000 (at least one), and that threshold: a model-neutral operating point.
        """
        benign = sorted((s for s, y, _ in self.scored_rows if y is None), reverse=True)
        k = max(1, int(len(benign) * per_100k / 100_000))
        thr = benign[k - 1] if benign else 0.0
        best: dict[tuple[str, str], float] = {}
        for s, y, u in self.scored_rows:
            if y is not None:
                best[(y, u)] = max(best.get((y, u), 0.0), s)
        return sum(1 for v in best.values() if v > thr), thr

    def lines(self) -> list[str]:
        caught = [d for d in self.delays.values() if d is not None]
        out = [
            f"events {self.events}, scored after warm-up {self.scored} "
            f"({self.positives} anomalous; {self.ambiguous} benign events of attacked users "
            f"during the attack left out)",
            f"ROC-AUC {self.roc_auc:.4f}   PR-AUC {self.pr_auc:.4f}",
            f"at the operating threshold (adaptive; {self.final_threshold:.3f} at the end): "
            f"{self.flagged} events flagged, precision "
            f"{self.precision:.3f}, recall {self.recall:.3f}",
            f"false ML alerts per 100,000 benign events: {self.false_per_100k:.2f}",
            f"findings (incidents): {self.findings}",
            f"instances detected: {len(caught)}/{len(self.delays)}",
        ]
        if caught:
            caught.sort()
            out.append(f"detection delay (s): median {caught[len(caught) // 2]:.0f}, "
                       f"max {caught[-1]:.0f}")
        for kind, auc in sorted(self.per_kind_auc.items()):
            inst = [d for (k, _), d in self.delays.items() if k == kind]
            hit = sum(1 for d in inst if d is not None)
            out.append(f"  {kind:<22} ROC-AUC {auc:.4f}, instances detected {hit}/{len(inst)}")
        return out


def ambiguous_spans(rows: list[Labelled]) -> dict[str, list[tuple[float, float]]]:
    """Per user, the spans of their planted anomalies (plus one feature window after).

    Benign events of that same user inside such a span share the anomaly's window features
    (rate, distinct resources), so they are neither clean negatives nor planted positives:
    the evaluation leaves them out of the figures (they are still processed).
    """
    spans: dict[tuple[str, str], list[float]] = {}
    for ev, label in rows:
        if label is not None:
            span = spans.setdefault((label, ev.user), [ev.ts, ev.ts])
            span[0], span[1] = min(span[0], ev.ts), max(span[1], ev.ts)
    out: dict[str, list[tuple[float, float]]] = {}
    for (_, user), (lo, hi) in spans.items():
        out.setdefault(user, []).append((lo, hi + BUCKET_SECONDS))
    return out


def evaluate(rows: list[Labelled], config: BehaviourAnomalyConfig | None = None) -> Evaluation:
    """Run a fresh detector over ``rows`` in order; score every event after the user's warm-up.

    Benign events inside :func:`ambiguous_spans` are processed but not counted.
    """
    det = BehaviourAnomaly(config or BehaviourAnomalyConfig())
    ambiguous = ambiguous_spans(rows)
    skipped = 0
    states: dict[str, Any] = {}
    scores: list[float] = []
    labels: list[str | None] = []
    users: list[str] = []
    flags: list[bool] = []
    first: dict[tuple[str, str], float] = {}
    delays: dict[tuple[str, str], float | None] = {}
    findings = 0
    for ev, label in rows:
        if label is not None:
            inst = (label, ev.user)
            first.setdefault(inst, ev.ts)
            delays.setdefault(inst, None)
        states[ev.user], found = det.step(states.get(ev.user), ev)
        findings += len(found)
        if det.last_score is None:
            continue
        if label is None and any(lo <= ev.ts <= hi for lo, hi in ambiguous.get(ev.user, ())):
            skipped += 1
            continue
        flagged = det.last_flagged
        scores.append(det.last_score)
        labels.append(label)
        users.append(ev.user)
        flags.append(flagged)
        if flagged and label is not None and delays[(label, ev.user)] is None:
            delays[(label, ev.user)] = ev.ts - first[(label, ev.user)]
    truth = [y is not None for y in labels]
    pos = sum(truth)
    flagged_n = sum(flags)
    tp = sum(1 for f, y in zip(flags, truth, strict=True) if f and y)
    neg = len(truth) - pos
    per_kind = {}
    for kind in sorted({y for y in labels if y is not None}):
        idx = [i for i, y in enumerate(labels) if y is None or y == kind]
        per_kind[kind] = roc_auc([scores[i] for i in idx], [labels[i] is not None for i in idx])
    return Evaluation(
        events=len(rows), scored=len(scores), positives=pos,
        roc_auc=roc_auc(scores, truth), pr_auc=pr_auc(scores, truth),
        flagged=flagged_n, true_flags=tp,
        precision=tp / flagged_n if flagged_n else 0.0,
        recall=tp / pos if pos else 0.0,
        false_per_100k=(flagged_n - tp) / neg * 100_000 if neg else 0.0,
        findings=findings, delays=delays, per_kind_auc=per_kind, ambiguous=skipped,
        scored_rows=list(zip(scores, labels, users, strict=True)),
        final_threshold=det.last_threshold,
    )
