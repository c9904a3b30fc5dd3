"""How much the pure alert decisions cost per alert (lifecycle + mute check + routing).

Prints alerts/s for: the baseline (a JSON round trip of the lifecycle state, which is what a
table write costs at least), ``observe`` alone, and the full decision (mute_reason with 50
silences and an inhibition rule, observe, route through the example tree).

    PYTHONPATH=. /work/main/.venv/bin/python benchmarks/alerts_decisions.py
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from alerts.config import load_alerts_config
from alerts.inhibition import remember_source
from alerts.lifecycle import mute_reason, observe
from alerts.matchers import Matchers
from alerts.routing import route
from alerts.silences import Silence
from alerts.testing import make_alert

N = 20_000


def main() -> None:
    cfg = load_alerts_config(Path(__file__).parents[1] / "alerts" / "example_config.yaml")
    policy = cfg.lifecycle
    alerts = [make_alert(ts=i * 30, incident=f"i{i}", key=f"user{i % 500}", user=f"user{i % 500}")
              for i in range(N)]
    silences = [Silence(id=f"s{i}", matchers=Matchers(labels={"user": f"nobody{i}"}),
                        starts_at=0, ends_at=4e9, reason="r", created_by="b") for i in range(50)]
    lockout = make_alert(detector="account_lockout", key="user7", user="user7").label_set()
    sources = remember_source([], lockout, cfg.inhibit_rules, until=4e9, now=0)
    states: dict[str, dict] = {}

    t = time.perf_counter()
    first = observe(None, alerts[0], now=alerts[0].last_seen.timestamp(), policy=policy)[0]
    for _ in range(N):
        json.loads(json.dumps(first))
    baseline = N / (time.perf_counter() - t)

    t = time.perf_counter()
    for a in alerts:
        k = a.key
        states[k], _ = observe(states.get(k), a, now=a.last_seen.timestamp(), policy=policy)
    observe_rate = N / (time.perf_counter() - t)

    states.clear()
    sent = 0
    t = time.perf_counter()
    for a in alerts:
        labels = a.label_set()
        now = a.last_seen.timestamp()
        mute = mute_reason(labels, now=now, silences=silences, inhibit_rules=cfg.inhibit_rules,
                           inhibit_sources=sources)
        states[a.key], d = observe(states.get(a.key), a, now=now, policy=policy, mute=mute)
        for note in d.notifications:
            sent += len(route(cfg.routes, note.alert.label_set()))
    full = N / (time.perf_counter() - t)

    print(f"alerts: {N}, keys: 500, messages routed: {sent}")
    print(f"baseline (state JSON round trip): {baseline:12,.0f} /s")
    print(f"observe:                          {observe_rate:12,.0f} alerts/s")
    print(f"mute_reason + observe + route:    {full:12,.0f} alerts/s")
    print(f"state size: {len(json.dumps(first))} bytes as JSON")


if __name__ == "__main__":
    main()
