"""Per-user ML state size as JSON, measured over many users with filled baselines.

    python benchmarks/ml_state.py [--users 100000 --events 60]

Each synthetic user gets ``--events`` events spread over a week, with more distinct
resources, networks and countries than the baseline keeps, so every capped set is full (the
worst case). Prints mean / p99 / max bytes per user of the behaviour_anomaly state (compact
JSON), and the same with the Engine's whole per-user state (rules + ML + duplicate ids), plus
the total over all users.
"""

from __future__ import annotations

import argparse
import json
import random
from typing import Any

from detectors.config import default_config
from detectors.engine import Engine
from detectors.events import AccessEvent
from detectors.findings import utc


def user_events(rng: random.Random, u: int, n: int, seq: list[int]) -> list[AccessEvent]:
    out = []
    ts = 1772409600.0 + rng.uniform(0, 3600)
    for i in range(n):
        ts += rng.uniform(60, 7 * 86400 / n)
        seq[0] += 1
        out.append(AccessEvent.model_validate({
            "event_id": f"s-{seq[0]}", "timestamp": utc(ts), "user": f"user{u:06d}",
            "action": rng.choice(("view", "modify", "login", "delete")),
            "outcome": "success" if rng.random() < 0.9 else "failure",
            "source_ip": f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(1, 255)}",
            "resource": f"db/prod/team{u % 50:02d}-{i}", "environment": "production",
            "geo": {"country": rng.choice(("DE", "FR", "NL", "GB", "US", "PL", "IT"))},
        }))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=60)
    args = parser.parse_args()
    rng = random.Random(1)
    engine = Engine(default_config())
    ml_sizes, all_sizes = [], []
    seq = [0]
    for u in range(args.users):
        state: dict[str, Any] | None = None
        for ev in user_events(rng, u, args.events, seq):
            state, _ = engine.step("user", state, ev)
        assert state is not None
        ml_sizes.append(len(json.dumps(state["behaviour_anomaly"], separators=(",", ":"))))
        all_sizes.append(len(json.dumps(state, separators=(",", ":"))))
    for label, sizes in (("behaviour_anomaly state", ml_sizes),
                         ("whole per-user state", all_sizes)):
        sizes.sort()
        print(f"{label:<24} mean {sum(sizes) / len(sizes):6.0f} B  p99 "
              f"{sizes[int(len(sizes) * 0.99)]:5d} B  max {sizes[-1]:5d} B  "
              f"total {sum(sizes) / 2**20:7.1f} MiB over {len(sizes)} users")


if __name__ == "__main__":
    main()
