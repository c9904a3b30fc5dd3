"""``accessguard schema``: print the JSON Schema of the v1 access event."""

from __future__ import annotations

import argparse
import json

from detectors.events import event_json_schema


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("schema", help="print the JSON Schema of the v1 access event")
    p.set_defaults(run=run)


def run(args: argparse.Namespace) -> int:
    print(json.dumps(event_json_schema(), indent=2))
    return 0
