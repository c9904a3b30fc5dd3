"""``accessguard config validate FILE`` and ``accessguard config schema``.

``validate`` checks a whole config file (detector settings and an optional ``alerts:``
section, :mod:`pipeline.config`), prints every problem as ``file:line: field.path: reason``
and exits 2, or prints one OK line naming the enabled detectors. ``schema`` prints the JSON
Schema of the file, for editors (e.g. a ``# yaml-language-server: $schema=...`` comment).
"""

from __future__ import annotations

import argparse
import json


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
    alerts = ""
    if cfg.has_alerts_section:
        n = len(cfg.alerts.destinations)
        alerts = f"; alerts: {n} destination{'s' if n != 1 else ''}"
    print(f"{args.file}: OK: {len(enabled)} detectors enabled ({', '.join(enabled) or 'none'})"
          f"{alerts}")
    return 0


def run_schema(args: argparse.Namespace) -> int:
    from pipeline.config import app_config_schema

    print(json.dumps(app_config_schema(), indent=2))
    return 0
