"""``accessguard`` command line. Each sub-command lives in its own module with
``register(subparsers)``; commands import heavy modules (Faust, Kafka) only when they run.

Errors print one line per problem to stderr and exit non-zero; never a traceback.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from detectors.errors import AccessGuardError, ConfigError

__all__ = ["main"]

COMMANDS = (
    "pipeline.cli.schema",
    "pipeline.cli.worker",
    "pipeline.cli.produce",
    "pipeline.cli.demo",
    "pipeline.cli.alerts",
    "pipeline.cli.silence",
    "pipeline.cli.archive",
    "pipeline.cli.ingest",
    "pipeline.cli.replay",
    "pipeline.cli.config",
    "pipeline.cli.eval",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="accessguard", description="Real-time access-anomaly detection on Kafka."
    )
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return int(args.run(args) or 0)
    except ConfigError as exc:
        for problem in exc.problems:
            print(f"accessguard: {problem}", file=sys.stderr)
        return 2
    except AccessGuardError as exc:
        print(f"accessguard: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("accessguard: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    sys.exit(main())
