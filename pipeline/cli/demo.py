"""``accessguard demo``: run the whole pipeline locally on the embedded broker."""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help="run broker, worker, webhook receiver and a planted attack")
    p.add_argument("--users", type=int, default=50)
    p.add_argument("--hours", type=float, default=2.0, help="event-time span of the traffic")
    p.add_argument("--seed", type=int, default=42)
    p.add_argument("--workdir", type=Path, default=Path(".demo"))
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pipeline.demo import run_demo

    return run_demo(users=args.users, hours=args.hours, seed=args.seed, workdir=args.workdir)
