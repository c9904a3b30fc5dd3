"""``accessguard config validate FILE`` and ``accessguard config schema``.

``validate`` checks a whole config file (detector settings and an optional ``alerts:``
section, :mod:`pipeline.config`), prints every problem as ``file:line: field.path: reason``
and exits 2, or prints one OK line naming the enabled detectors. ``schema`` prints the JSON
Schema of the file, for editors (e.g. a ``# yaml-language-server: $schema=...`` comment).
"""

from __future__ import annotations

import argparse
import json
from typing import Any


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("config", help="validate a config file or print its JSON Schema")
    cmds = p.add_subparsers(dest="config_command", required=True, metavar="ACTION")
    v = cmds.add_parser("validate", help="check a config file; list every problem")
    v.add_argument("file", metavar="FILE")
    v.set_defaults(run=run_validate)
    s = cmds.add_parser("schema", help="print the JSON Schema of the config file")
    s.set_defaults(run=run_schema)


def run_validate(args: argparse.Namespace) -> int:
    from detectors.registry import DETECTORS
    from pipeline.config import load_app_config

    cfg = load_app_config(args.file)  # a ConfigError is printed one problem a line, exit 2
    sections = cfg.detectors.detectors
    enabled = [name for name in DETECTORS if getattr(sections, name).enabled]
    n = len(cfg.alerts.destinations)
    print(f"{args.file}: OK: {len(enabled)} detectors enabled ({', '.join(enabled) or 'none'})"
          f"; alerts: {n} destination{'s' if n != 1 else ''}")
    return 0


def run_schema(args: argparse.Namespace) -> int:
    print(json.dumps(app_config_schema(), indent=2))
    return 0


def app_config_schema() -> dict[str, Any]:
    """JSON Schema of the whole file: the detector config plus an ``alerts`` property."""
    from alerts.config import AlertsConfig
    from detectors.config import Config

    schema = Config.model_json_schema()
    alerts = AlertsConfig.model_json_schema()
    defs = schema.setdefault("$defs", {})
    for name, sub in alerts.pop("$defs", {}).items():
        defs.setdefault(name, sub)
    defs["AlertsConfig"] = alerts
    schema["properties"]["alerts"] = {
        "$ref": "#/$defs/AlertsConfig",
        "description": "how findings become alerts and where they are delivered",
    }
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = "https://accessguard.dev/schemas/config/v1.json"
    schema["title"] = "accessguard config v1"
    return schema
