"""``accessguard silence add|list|remove``: manage silences in the file-backed store.

Every change prints its audit record as one JSON line (archive it with the alerts).
Matchers are ``-m label=value`` (equal) or ``-m label=~regex`` (full match); labels include
``detector``, ``severity``, ``user``, ``key``, ``environment`` and the alert's own labels.
"""

from __future__ import annotations

import argparse
import getpass
import json
import re
import time
from pathlib import Path

from pydantic import ValidationError

from alerts.config import load_alerts_config
from alerts.matchers import Matchers
from alerts.silences import SilenceStore
from detectors.errors import ConfigError

_DURATION = re.compile(r"^(\d+(?:\.\d+)?)([smhd]?)$")
_UNIT = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("silence", help="add, list or remove alert silences")
    cmds = p.add_subparsers(dest="silence_command", required=True, metavar="ACTION")
    common = argparse.ArgumentParser(add_help=False)
    where = common.add_mutually_exclusive_group()
    where.add_argument("--config", metavar="FILE", help="alerts config naming the silences file")
    where.add_argument("--file", metavar="PATH", help="the silences file itself")
    add = cmds.add_parser("add", parents=[common], help="mute matching alerts for a while")
    add.add_argument("-m", "--match", action="append", required=True, metavar="LABEL=VALUE",
                     help="label=value or label=~regex; repeat to require several")
    add.add_argument("--duration", required=True, help="e.g. 90m, 2h, 1d, or seconds")
    add.add_argument("--reason", required=True)
    add.add_argument("--by", default=None, help="who is silencing (default: current user)")
    add.set_defaults(run=run_add)
    ls = cmds.add_parser("list", parents=[common], help="list silences")
    ls.add_argument("--all", action="store_true", help="include expired silences")
    ls.set_defaults(run=run_list)
    rm = cmds.add_parser("remove", parents=[common], help="remove a silence by id")
    rm.add_argument("silence_id", metavar="ID")
    rm.add_argument("--by", default=None)
    rm.set_defaults(run=run_remove)


def parse_duration(text: str) -> float:
    """``parse_duration("90m") == 5400.0``."""
    m = _DURATION.match(text.strip())
    if not m or float(m.group(1)) <= 0:
        raise ConfigError([f"--duration: {text!r} is not a duration like 90m, 2h or 1d"])
    return float(m.group(1)) * _UNIT[m.group(2)]


def parse_matchers(items: list[str]) -> Matchers:
    labels: dict[str, str] = {}
    regexes: dict[str, str] = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not name.strip():
            raise ConfigError([f"--match: {item!r} is not LABEL=VALUE or LABEL=~REGEX"])
        if value.startswith("~"):
            regexes[name.strip()] = value[1:]
        else:
            labels[name.strip()] = value
    try:
        return Matchers(labels=labels, labels_re=regexes)
    except ValidationError as exc:
        raise ConfigError([f"--match: {e['msg']}" for e in exc.errors(include_url=False)]
                          ) from exc


def _store(args: argparse.Namespace) -> SilenceStore:
    if args.file:
        return SilenceStore(Path(args.file))
    if args.config:
        return SilenceStore(load_alerts_config(args.config).silences_file)
    return SilenceStore(Path("silences.json"))


def _actor(args: argparse.Namespace) -> str:
    return str(args.by or getpass.getuser())


def run_add(args: argparse.Namespace) -> int:
    store = _store(args)
    matchers = parse_matchers(args.match)
    _, audit = store.add(matchers, duration_seconds=parse_duration(args.duration),
                         reason=args.reason, created_by=_actor(args), now=time.time())
    print(json.dumps(audit, sort_keys=True))
    return 0


def run_list(args: argparse.Namespace) -> int:
    store = _store(args)
    now = time.time()
    silences = store.current(now=now, include_expired=args.all)
    for s in silences:
        state = "active" if s.active(now) else ("expired" if now >= s.ends_at else "pending")
        print(f"{state}\t{s.summary()}")
    if not silences:
        print("no silences")
    return 0


def run_remove(args: argparse.Namespace) -> int:
    store = _store(args)
    print(json.dumps(store.remove(args.silence_id, actor=_actor(args), now=time.time()),
                     sort_keys=True))
    return 0
