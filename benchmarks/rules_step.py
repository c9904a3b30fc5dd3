"""µs per event for Engine.step: every detector on vs only failed_login_burst (the baseline),
measured in the same run over the same generated events (all attacks planted).

    python benchmarks/rules_step.py [--users 200] [--hours 6] [--repeat 3]

(from a worktree that is not the installed checkout, prefix ``PYTHONPATH=.``)

Also prints the cost of an offline geo lookup (geoip2fast), uncached and cached.
"""

from __future__ import annotations

import argparse
import random
import time
from collections.abc import Iterable

from detectors.config import default_config
from detectors.engine import Engine
from detectors.events import AccessEvent
from detectors.geo import GeoIP2FastLookup, GeoLookup
from detectors.scenario import ATTACKS, ScenarioSpec, generate


def per_event_us(engine: Engine, events: list[AccessEvent], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        tables: dict = {k: {} for k in engine.key_kinds}
        start = time.perf_counter()
        for ev in events:
            for kind, table in tables.items():
                key = engine.key_for(kind, ev)
                if key is not None:
                    table[key], _ = engine.step(kind, table.get(key), ev)
        best = min(best, time.perf_counter() - start)
    return best / len(events) * 1e6


def lookup_us(geo: GeoLookup, ips: Iterable[str]) -> float:
    ips = list(ips)
    start = time.perf_counter()
    for ip in ips:
        geo.lookup(ip)
    return (time.perf_counter() - start) / len(ips) * 1e6


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--hours", type=float, default=6.0)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    spec = ScenarioSpec(users=args.users, hours=args.hours, attacks=ATTACKS)
    events = [ev for ev, _ in generate(spec)]
    cfg = default_config()
    geo = GeoIP2FastLookup.load()
    baseline = Engine(cfg, only=["failed_login_burst"])
    everything = Engine(cfg, geo=geo)
    base_us = per_event_us(baseline, events, args.repeat)
    all_us = per_event_us(everything, events, args.repeat)
    print(f"events: {len(events)} ({args.users} users, {args.hours:g} h, all attacks planted)")
    print(f"failed_login_burst only (baseline): {base_us:6.2f} µs/event")
    print(
        f"all {len(everything.detector_names)} detectors, {len(everything.key_kinds)} key kinds:"
        f" {all_us:6.2f} µs/event  ({all_us / base_us:.2f}x baseline)"
    )
    rng = random.Random(1)
    public = [
        f"{rng.randint(1, 223)}.{rng.randint(0, 255)}.{rng.randint(0, 255)}.{rng.randint(1, 254)}"
        for _ in range(5000)
    ]
    fresh = GeoIP2FastLookup.load()
    print(
        f"geo lookup, uncached: {lookup_us(fresh, public):6.2f} µs; "
        f"cached: {lookup_us(fresh, public):6.2f} µs"
    )


if __name__ == "__main__":
    main()
