"""``accessguard ingest --format FORMAT [FILE|-] [--follow]``: real logs in, v1 events out."""

from __future__ import annotations

import argparse
import asyncio
import threading
from datetime import UTC, datetime

from pipeline.errors import UsageError

FORMAT_NAMES = ("ndjson", "sshd", "cloudtrail", "k8s-audit", "github-audit")


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("ingest", help="parse a log (sshd, CloudTrail, k8s audit, GitHub "
                       "audit, ndjson) and produce access events to Kafka")
    p.add_argument("file", nargs="?", default="-", help="log file, or - for standard input")
    p.add_argument("--format", "-f", required=True, choices=FORMAT_NAMES)
    p.add_argument("--follow", action="store_true", help="keep reading as the file grows")
    p.add_argument("--year", type=int, help="year of BSD syslog timestamps (default: this "
                   "year; a December→January step adds one)")
    p.add_argument("--tz", default="UTC", help="IANA zone of syslog timestamps without one")
    p.add_argument("--bootstrap-servers", "-b", help="host:port[,...] "
                   "(env ACCESSGUARD_BOOTSTRAP_SERVERS)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    from detectors.sources import SourceOptions, Summary
    from pipeline.cli.worker import settings_from_args
    from pipeline.ingest import follow_lines, ingest, open_lines
    from pipeline.progress import Progress

    settings = settings_from_args(args, ("bootstrap_servers",))
    if args.follow and args.file == "-":
        raise UsageError("--follow needs a file, not standard input")
    try:
        stream, name = open_lines(args.file)
    except OSError as exc:
        raise UsageError(f"{args.file}: cannot read: {exc.strerror or exc}") from exc
    # The wall clock belongs here at the edge: syslog lines carry no year.
    options = SourceOptions(year=args.year or datetime.now(UTC).year, tz=args.tz)
    summary = Summary()
    stop = threading.Event()
    lines = follow_lines(stream, stop) if args.follow else (ln.rstrip("\n") for ln in stream)
    try:
        asyncio.run(ingest(settings.bootstrap_servers, args.format, lines, options,
                           source_name=name, summary=summary, stop=stop,
                           progress=Progress(f"ingesting {name}"),
                           security=settings.kafka_security()))
    except KeyboardInterrupt:
        stop.set()
    finally:
        stop.set()
        if stream is not __import__("sys").stdin:
            stream.close()
    print(summary.format())
    return 0
