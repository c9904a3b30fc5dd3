"""End-to-end alert latency alone, at a rate you choose, for several rounds.

    python benchmarks/latency.py [--rate 1500] [--seconds 20] [--rounds 3] [--settings K=V,...]

Each round is what ``benchmarks/run.py`` measures as ``latency_p50_ms``/``latency_p99_ms``:
a fresh embedded broker, one worker, background traffic at ``--rate`` events/s for
``--seconds``, with an attack burst every second whose alert a webhook receiver (a process of
its own) times from the burst's last send. ``--settings`` passes worker settings
(``ACCESSGUARD_*`` variables); given several times, each round runs every group in turn, so
settings are compared under the same conditions.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.harness import CHILD_ENV, keyed_lines, scenario_events
from benchmarks.run import Run, measure_latency


def main() -> None:
    ap = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    ap.add_argument("--rate", type=float, default=1500.0, help="background events/s")
    ap.add_argument("--seconds", type=float, default=20.0)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--users", type=int, default=600)
    ap.add_argument("--hours", type=float, default=4.0)
    ap.add_argument("--settings", action="append", default=[], metavar="K=V[,K=V...]",
                    help="worker settings (ACCESSGUARD_* variables) for a round; give it "
                         "several times to alternate between them ('' is the defaults)")
    args = ap.parse_args()
    groups = [dict(pair.split("=", 1) for pair in group.split(",") if pair)
              for group in args.settings] or [{}]
    single = keyed_lines(scenario_events(args.users, args.hours))
    base_env = dict(CHILD_ENV)
    with tempfile.TemporaryDirectory(prefix="accessguard-latency-") as tmp:
        run = Run(Path(tmp), None)
        for n in range(1, args.rounds + 1):
            for group in groups:
                CHILD_ENV.clear()
                CHILD_ENV.update({**base_env, **group})
                p50, p99, got, bursts = measure_latency(run, single, args.rate, args.seconds)
                label = " ".join(f"{k}={v}" for k, v in group.items()) or "defaults"
                print(f"round {n} [{label}]: p50 {p50:.0f} ms, p99 {p99:.0f} ms at "
                      f"{args.rate:.0f} events/s ({got}/{bursts} bursts alerted)", flush=True)


if __name__ == "__main__":
    main()
