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
from collections.abc import Iterable

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


def measure(label: str, only: Iterable[str] | None, events: list[AccessEvent],
            repeats: int) -> float:
    engine = Engine(policy_config(), only=only)
    runs = [one_pass(engine, events) for _ in range(repeats)]
    us = statistics.median(t for t, _ in runs) / len(events) * 1e6
    print(f"{label:<44} {us:7.2f} µs/event  ({runs[0][1]} findings)", flush=True)
    return us


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--hours", type=float, default=8.0)
    parser.add_argument("--repeats", type=int, default=5)
    ns = parser.parse_args()
    spec = ScenarioSpec(users=ns.users, hours=ns.hours, policy_traffic=True, attacks=ATTACKS)
    events = [ev for ev, _ in generate(spec)]
    print(f"{len(events)} events ({ns.users} users, {ns.hours:g} h, all attacks planted), "
          f"median of {ns.repeats} passes")
    base = measure("baseline: failed_login_burst only", ["failed_login_burst"], events,
                   ns.repeats)
    full = measure("example policy: all five detectors", None, events, ns.repeats)
    for name in POLICY_ATTACKS:
        measure(f"  failed_login_burst + {name}", ["failed_login_burst", name], events,
                ns.repeats)
    print(f"policy detectors add {full - base:.2f} µs/event ({full / base:.2f}x the baseline)")


if __name__ == "__main__":
    main()
