"""Cost of the ML path alone, next to the rule engine alone, in the same run.

    python benchmarks/ml_path.py [--users 100 --days 7 --seed 42]

Events are generated and parsed first; the timed loops only step detectors over in-memory
per-key state (what a worker does per event, minus Kafka and tables). Prints µs/event and
events/s for: the rule engine without behaviour_anomaly (baseline), behaviour_anomaly alone
(features + shared model + threshold), its feature extraction alone, and the whole engine.
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
from detectors.ml.features import Context, extract, new_baseline, update
from detectors.ml.scenarios import MlScenarioSpec, generate_ml
from detectors.registry import DETECTORS


def timed(label: str, events: list[AccessEvent], fn: Callable[[AccessEvent], Any]) -> None:
    start = time.perf_counter()
    for ev in events:
        fn(ev)
    secs = time.perf_counter() - start
    print(f"{label:<44} {secs / len(events) * 1e6:8.1f} µs/event {len(events) / secs:10,.0f} ev/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100)
    parser.add_argument("--days", type=int, default=7)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    events = [ev for ev, _ in generate_ml(MlScenarioSpec(args.users, args.days, args.seed))]
    config = default_config()
    print(f"{len(events)} events, {args.users} users x {args.days} days")

    rules = Engine(config, only=[n for n in DETECTORS if n != "behaviour_anomaly"])
    tables: dict[str, Any] = {}

    def rule_step(ev: AccessEvent) -> None:
        tables[ev.user], _ = rules.step("user", tables.get(ev.user), ev)

    timed("baseline: rule engine alone (user key)", events, rule_step)

    det = BehaviourAnomaly(config.detectors.behaviour_anomaly)
    states: dict[str, Any] = {}

    def ml_step(ev: AccessEvent) -> None:
        states[ev.user], _ = det.step(states.get(ev.user), ev)

    timed("ML path: behaviour_anomaly alone", events, ml_step)

    ctx = Context()
    bases: dict[str, Any] = {}

    def feature_step(ev: AccessEvent) -> None:
        base = bases.setdefault(ev.user, new_baseline())
        extract(base, ev, ctx)
        update(base, ev, ctx)

    timed("  of which features (extract + update)", events, feature_step)

    both = Engine(config)
    tables2: dict[str, Any] = {}

    def engine_step(ev: AccessEvent) -> None:
        tables2[ev.user], _ = both.step("user", tables2.get(ev.user), ev)

    timed("whole engine: rules + ML + fusion", events, engine_step)
    size = len(det.checkpoint())
    print(f"shared model checkpoint: {size / 1024:.1f} KiB ({det.learned_events} events learned)")


if __name__ == "__main__":
    main()
