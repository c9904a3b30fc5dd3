"""Scores the rule detectors on a labelled scenario: recall, precision, delay, false alerts.

The scenario (:mod:`detectors.scenario`) labels each planted attack event with the name of
the detector expected to catch it (``brute_force`` is ``failed_login_burst``'s). Here:

- a **planted attack** is the labelled events of one label and one key of the detector's
  first key kind (the user, the source IP for ``password_spray``, the credential for
  ``credential_hygiene``); it is **detected** when a finding of that detector names one of
  its events;
- a finding is **true** when it names at least one event labelled for its detector, else
  **false** (benign traffic, or another attack's events); precision is true / all findings;
- **detection delay** is event time from the attack's first event to the event whose
  processing produced the first finding that names one of its events;
- **false alerts per 100,000 benign events** divides false findings by unlabelled events.

>>> from detectors.scenario import ScenarioSpec
>>> ev = evaluate_scenario(ScenarioSpec(users=10, hours=1, attacks=("brute_force",)))
>>> s = ev.scores["failed_login_burst"]
>>> s.planted, s.detected, s.recall, s.precision, s.delays
(1, 1, 1.0, 1.0, [30.0])
"""

from __future__ import annotations

import statistics
from collections import defaultdict
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

from detectors.config import Config
from detectors.engine import Engine
from detectors.events import AccessEvent
from detectors.findings import Finding
from detectors.registry import DETECTORS
from detectors.scenario import ATTACKS, Labelled, ScenarioSpec, generate, policy_config

__all__ = [
    "FALSE_ALERTS_TARGET",
    "LABEL_DETECTOR",
    "RECALL_TARGET",
    "RULE_DETECTORS",
    "DetectorScore",
    "Evaluation",
    "default_eval_spec",
    "detector_for_label",
    "evaluate",
    "evaluate_scenario",
    "merge",
]

#: Targets of issue 3: recall at least 0.98, at most 1 false alert per 100,000 benign events.
RECALL_TARGET = 0.98
FALSE_ALERTS_TARGET = 1.0
#: Scenario labels that are not the detector's own name.
LABEL_DETECTOR = {"brute_force": "failed_login_burst"}


def detector_for_label(label: str) -> str:
    return LABEL_DETECTOR.get(label, label)


#: The rule detectors the scenario plants attacks for (what this evaluation scores).
RULE_DETECTORS = tuple(detector_for_label(a) for a in ATTACKS)


@dataclass
class DetectorScore:
    detector: str
    planted: int = 0
    detected: int = 0
    findings: int = 0
    true_findings: int = 0
    delays: list[float] = field(default_factory=list)  # seconds, one per detected attack

    @property
    def false_findings(self) -> int:
        return self.findings - self.true_findings

    @property
    def recall(self) -> float | None:
        return self.detected / self.planted if self.planted else None

    @property
    def precision(self) -> float | None:
        return self.true_findings / self.findings if self.findings else None

    @property
    def median_delay(self) -> float | None:
        return statistics.median(self.delays) if self.delays else None

    @property
    def max_delay(self) -> float | None:
        return max(self.delays) if self.delays else None


@dataclass
class Evaluation:
    events: int
    benign_events: int
    scores: dict[str, DetectorScore]  # every enabled detector, registry order

    @property
    def false_findings(self) -> int:
        return sum(s.false_findings for s in self.scores.values())

    def false_per_100k(self, score: DetectorScore | None = None) -> float:
        """False alerts per 100,000 benign events (one detector's, or all of them)."""
        n = self.false_findings if score is None else score.false_findings
        return n * 100_000 / self.benign_events if self.benign_events else 0.0

    @property
    def recall(self) -> float | None:
        planted = sum(s.planted for s in self.scores.values())
        return sum(s.detected for s in self.scores.values()) / planted if planted else None

    def recall_met(self, score: DetectorScore) -> bool | None:
        return None if score.recall is None else score.recall >= RECALL_TARGET

    def false_alerts_met(self, score: DetectorScore | None = None) -> bool:
        return self.false_per_100k(score) <= FALSE_ALERTS_TARGET


def default_eval_spec(users: int = 200, hours: float = 24.0, seed: int = 42) -> ScenarioSpec:
    """Every attack planted, with the example policy's benign traffic (service keys etc.)."""
    return ScenarioSpec(users=users, hours=hours, seed=seed, attacks=ATTACKS,
                        policy_traffic=True)


def evaluate_scenario(spec: ScenarioSpec | None = None, config: Config | None = None,
                      engine: Engine | None = None) -> Evaluation:
    """Generate ``spec`` (default :func:`default_eval_spec`) and score it.

    The config defaults to the example policy (``config/example-policy.yaml``): the shipped
    defaults with all twelve rule detectors on and the policy the scenario's population
    follows. Only the rule detectors run (:data:`RULE_DETECTORS`; the online model has its
    own evaluation, ``accessguard eval --ml``).
    """
    labelled = generate(spec if spec is not None else default_eval_spec())
    if engine is None:
        engine = Engine(config if config is not None else policy_config(), only=RULE_DETECTORS)
    return evaluate(labelled, engine)


def evaluate(labelled: Sequence[Labelled], engine: Engine) -> Evaluation:
    """Run ``engine`` over labelled events (in the given order) and score each detector."""
    label_of = {ev.event_id: label for ev, label in labelled}
    scores = {name: DetectorScore(name) for name in engine.detector_names}
    attacks = _planted(labelled, scores)
    attack_of_event = {eid: key for key, (_, eids) in attacks.items() for eid in eids}
    first_detection: dict[tuple[str, str, str], float] = {}
    for now, f in _findings_with_time(engine, (ev for ev, _ in labelled)):
        score = scores.setdefault(f.detector, DetectorScore(f.detector))
        score.findings += 1
        if any(label_of.get(e) is not None and detector_for_label(label_of[e] or "") == f.detector
               for e in f.event_ids):
            score.true_findings += 1
        for e in f.event_ids:
            key = attack_of_event.get(e)
            if key is not None and key[0] == f.detector and key not in first_detection:
                first_detection[key] = now
    for key, now in first_detection.items():
        score = scores[key[0]]
        score.detected += 1
        score.delays.append(now - attacks[key][0])
    for s in scores.values():
        s.delays.sort()
    benign = sum(1 for _, label in labelled if label is None)
    return Evaluation(events=len(labelled), benign_events=benign, scores=scores)


def merge(evaluations: Iterable[Evaluation]) -> Evaluation:
    """Pool several runs (e.g. seeds): counts and delays add up."""
    events = benign = 0
    scores: dict[str, DetectorScore] = {}
    for ev in evaluations:
        events += ev.events
        benign += ev.benign_events
        for name, s in ev.scores.items():
            into = scores.setdefault(name, DetectorScore(name))
            into.planted += s.planted
            into.detected += s.detected
            into.findings += s.findings
            into.true_findings += s.true_findings
            into.delays = sorted([*into.delays, *s.delays])
    return Evaluation(events=events, benign_events=benign, scores=scores)


def _planted(labelled: Iterable[Labelled], scores: dict[str, DetectorScore]
             ) -> dict[tuple[str, str, str], tuple[float, list[str]]]:
    """Attacks as (detector, key kind, key) -> (first event time, labelled event ids)."""
    out: dict[tuple[str, str, str], tuple[float, list[str]]] = {}
    for ev, label in labelled:
        if label is None:
            continue
        name = detector_for_label(label)
        kind = DETECTORS[name].key_kinds[0]
        key = Engine.key_for(kind, ev)
        if key is None:
            continue
        attack = (name, kind, key)
        if attack not in out:
            out[attack] = (ev.ts, [])
        out[attack][1].append(ev.event_id)
    per_detector: dict[str, int] = defaultdict(int)
    for name, _, _ in out:
        per_detector[name] += 1
    for name, n in per_detector.items():
        scores.setdefault(name, DetectorScore(name)).planted = n
    return out


def _findings_with_time(engine: Engine, events: Iterable[AccessEvent]
                        ) -> Iterator[tuple[float, Finding]]:
    """Each finding with the event time of the event whose processing produced it."""
    current = [0.0]

    def tap() -> Iterator[AccessEvent]:
        for ev in events:
            current[0] = ev.ts
            yield ev

    for f in engine.run(tap()):
        yield current[0], f
