"""``accessguard produce FILE|-``: send NDJSON access events to the input topic."""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from pipeline.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("produce", help="send NDJSON access events to Kafka, keyed by user")
    p.add_argument("file", help="NDJSON file, or - for standard input")
    p.add_argument("--bootstrap-servers", "-b", help="host:port[,...] "
                   "(env ACCESSGUARD_BOOTSTRAP_SERVERS)")
    p.add_argument("--topic", help="override the input topic")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from pipeline.cli.worker import settings_from_args
    from pipeline.produce import produce_lines
    from pipeline.progress import Progress
    from pipeline.topics import EVENTS

    settings = settings_from_args(args, ("bootstrap_servers",))
    if args.file == "-":
        lines, total = list(sys.stdin.buffer), None
    else:
        path = Path(args.file)
        try:
            lines = path.read_bytes().splitlines()
        except OSError as exc:
            raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from exc
        total = len(lines)
    progress = Progress("producing", total)
    summary = asyncio.run(produce_lines(settings.bootstrap_servers, lines,
                                        topic=args.topic or EVENTS, total=total,
                                        progress=progress,
                                        security=settings.kafka_security()))
    print(f"sent {summary.sent}, rejected {len(summary.rejected)}")
    for n, reason in summary.rejected[:20]:
        print(f"  line {n}: {reason}", file=sys.stderr)
    if len(summary.rejected) > 20:
        print(f"  ... and {len(summary.rejected) - 20} more", file=sys.stderr)
    return 1 if summary.rejected and not summary.sent else 0
