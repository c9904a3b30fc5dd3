"""Cost of the policy detectors in ``Engine.step``: µs per event with the example policy
(config/example-policy.yaml: failed_login_burst plus the four policy detectors), against a
baseline of failed_login_burst alone, in the same run on the same events. Also each policy
detector on its own. Prints the median of several passes.

    PYTHONPATH=. .venv/bin/python benchmarks/policy_step.py [--users 200] [--hours 8] [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import time

from detectors.engine import Engine, KeyState
from detectors.events import AccessEvent
from detectors.findings import KeyKind
from detectors.scenario import ATTACKS, POLICY_ATTACKS, ScenarioSpec, generate, policy_config


def one_pass(engine: Engine, events: list[AccessEvent]) -> tuple[float, int]:
    """Seconds spent in Engine.step over all events (every key kind), and findings."""
    tables: dict[KeyKind, dict[str, KeyState]] = {k: {} for k in engine.key_kinds}
    found = 0
    t0 = time.perf_counter()
    for event in events:
        for kind, table in tables.items():
            key = engine.key_for(kind, event)
            if key is None:
                continue
            state, findings = engine.step(kind, table.get(key), event)
            if state is None:
                table.pop(key, None)
            else:
                table[key] = state
            found += len(findings)
    return time.perf_counter() - t0, found


def measure(configs: dict[str, list[str] | None], events: list[AccessEvent], repeats: int
            ) -> dict[str, tuple[float, float, int]]:
    """Median and best µs/event and findings per config; passes are interleaved so that
    load from other processes hits every config alike."""
    engines = {label: Engine(policy_config(), only=only) for label, only in configs.items()}
    times: dict[str, list[float]] = {label: [] for label in configs}
    found: dict[str, int] = {}
    for _ in range(repeats):
        for label, engine in engines.items():
            seconds, found[label] = one_pass(engine, events)
            times[label].append(seconds / len(events) * 1e6)
    return {label: (statistics.median(t), min(t), found[label]) for label, t in times.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--repeats", type=int, default=5)
    ns = parser.parse_args()
    spec = ScenarioSpec(users=ns.users, hours=ns.hours, policy_traffic=True, attacks=ATTACKS)
    events = [ev for ev, _ in generate(spec)]
    print(f"{len(events)} events ({ns.users} users, {ns.hours:g} h, all attacks planted), "
          f"{ns.repeats} interleaved passes per config")
    configs: dict[str, list[str] | None] = {
        "baseline: failed_login_burst only": ["failed_login_burst"],
        "example policy: all five detectors": None,
    }
    for name in POLICY_ATTACKS:
        configs[f"  failed_login_burst + {name}"] = ["failed_login_burst", name]
    results = measure(configs, events, ns.repeats)
    for label, (median, best, found) in results.items():
        print(f"{label:<44} {median:7.2f} µs/event median, {best:6.2f} best  ({found} findings)")
    base = results["baseline: failed_login_burst only"][0]
    full = results["example policy: all five detectors"][0]
    print(f"policy detectors add {full - base:.2f} µs/event median "
          f"({full / base:.2f}x the baseline)")


if __name__ == "__main__":
    main()
