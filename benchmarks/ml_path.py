"""Cost of the ML path alone, next to the rule engine alone, in the same run.

    python benchmarks/ml_path.py [--users 100 --days 7 --seed 42 --rounds 3]

Events are generated and parsed first, and the hash caches warmed; the timed loops only step
detectors over in-memory per-key state (what a worker does per event, minus Kafka and
tables). Each line is the best of ``--rounds`` runs from fresh state (the machine is shared).
Prints µs/event and events/s for: the rule engine without behaviour_anomaly (baseline),
behaviour_anomaly alone (features + shared model + threshold), its feature extraction alone,
and the whole engine.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from typing import Any

from detectors.config import default_config
from detectors.engine import Engine
from detectors.events import AccessEvent
from detectors.ml.behaviour_anomaly import BehaviourAnomaly
from detectors.ml.features import Context, Observation, new_baseline
from detectors.ml.scenarios import MlScenarioSpec, generate_ml
from detectors.registry import DETECTORS

Step = Callable[[AccessEvent], Any]


def timed(label: str, events: list[AccessEvent], fresh: Callable[[], Step], rounds: int) -> None:
    best = float("inf")
    for _ in range(rounds):
        step = fresh()
        start = time.perf_counter()
        for ev in events:
            step(ev)
        best = min(best, time.perf_counter() - start)
    print(f"{label:<44} {best / len(events) * 1e6:8.1f} µs/event {len(events) / best:10,.0f} ev/s")


def engine_step(engine: Engine) -> Step:
    tables: dict[str, Any] = {}

    def step(ev: AccessEvent) -> None:
        tables[ev.user], _ = engine.step("user", tables.get(ev.user), ev)

    return step


def features_step() -> Step:
    ctx = Context()
    bases: dict[str, Any] = {}

    def step(ev: AccessEvent) -> None:
        base = bases.setdefault(ev.user, new_baseline())
        seen = Observation(base, ev, ctx)  # as the detector does: features, then fold in
        seen.features(base)
        seen.fold(base)

    return step


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    events = [ev for ev, _ in generate_ml(MlScenarioSpec(args.users, args.days, args.seed))]
    config = default_config()
    print(f"{len(events)} events, {args.users} users x {args.days} days, "
          f"best of {args.rounds} rounds")
    warm = features_step()
    for ev in events:  # fill the process-wide hash caches once, as a running worker has them
        warm(ev)
    rules_only = [n for n in DETECTORS if n != "behaviour_anomaly"]
    timed("baseline: rule engine alone (user key)", events,
          lambda: engine_step(Engine(config, only=rules_only)), args.rounds)
    dets: list[BehaviourAnomaly] = []

    def ml_step() -> Step:
        det = BehaviourAnomaly(config.detectors.behaviour_anomaly)
        dets.append(det)
        states: dict[str, Any] = {}

        def step(ev: AccessEvent) -> None:
            states[ev.user], _ = det.step(states.get(ev.user), ev)

        return step

    timed("ML path: behaviour_anomaly alone", events, ml_step, args.rounds)
    timed("  of which features (extract + fold in)", events, features_step, args.rounds)
    timed("whole engine: rules + ML + fusion", events, lambda: engine_step(Engine(config)),
          args.rounds)
    det = dets[-1]
    print(f"shared model checkpoint: {len(det.checkpoint()) / 1024:.1f} KiB "
          f"({det.learned_events} events learned)")


if __name__ == "__main__":
    main()
