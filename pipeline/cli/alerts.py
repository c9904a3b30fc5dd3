"""``accessguard alerts test|route-test``: try destinations and routes from an alerts config.

``test DESTINATION`` sends a sample alert through the real rendering, signing and delivery
path (secrets from the environment) and prints the HTTP status. ``route-test ALERT_JSON``
prints the routes an alert (a JSON file, ``-`` for stdin, or inline JSON) would take.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from alerts.delivery import DeliveryResult, Sender
    from alerts.model import Alert


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("alerts", help="test alert destinations and routes")
    cmds = p.add_subparsers(dest="alerts_command", required=True, metavar="ACTION")
    t = cmds.add_parser("test", help="send a sample alert to a configured destination")
    t.add_argument("destination", metavar="DESTINATION")
    t.add_argument("--config", required=True, metavar="FILE",
                   help="alerts config YAML (top level or an `alerts:` section)")
    t.set_defaults(run=run_test)
    r = cmds.add_parser("route-test", help="show where an alert would be routed")
    r.add_argument("alert", metavar="ALERT_JSON", help="alert JSON file, '-' for stdin, or JSON")
    r.add_argument("--config", required=True, metavar="FILE")
    r.set_defaults(run=run_route_test)
    d = cmds.add_parser("redrive", help="re-send dead-lettered alert messages",
                        description="Uses the worker's settings (ACCESSGUARD_* environment, "
                        "or the flags) to find Kafka, the config and the destinations.")
    d.add_argument("--bootstrap-servers", "-b")
    d.add_argument("--config", "-c", dest="config_path", type=Path)
    d.add_argument("--app-id", help="the worker's app id (the redrive group is APP_ID-redrive)")
    d.add_argument("--max", type=int, dest="limit", help="redrive at most N records")
    d.add_argument("--dry-run", action="store_true", help="list what would be re-sent")
    d.set_defaults(run=run_redrive)


def run_redrive(args: argparse.Namespace) -> int:
    import os

    from alerts.delivery import Dispatcher
    from alerts.destinations import build_senders
    from pipeline.cli.worker import settings_from_args
    from pipeline.config import load_app_config
    from pipeline.redrive import RedriveSummary, redrive_dead_letters
    from pipeline.worker import WEBHOOK_ENV, with_webhook_shortcut

    settings = settings_from_args(args, ("bootstrap_servers", "config_path", "app_id"))
    config = load_app_config(settings.config_path)
    url = settings.webhook_url.get_secret_value() if settings.webhook_url else None
    env = {**os.environ, **({WEBHOOK_ENV: url} if url else {})}
    dispatcher = Dispatcher(build_senders(with_webhook_shortcut(config.alerts, url, settings),
                                          env=env))

    async def go() -> RedriveSummary:
        try:
            return await redrive_dead_letters(
                settings.bootstrap_servers, dispatcher, group=f"{settings.app_id}-redrive",
                limit=args.limit, dry_run=args.dry_run, security=settings.kafka_security())
        finally:
            await dispatcher.aclose()

    s = asyncio.run(go())
    print(f"redelivered {s.delivered}, failed again {s.failed_again} (dead-lettered anew), "
          f"not redrivable {s.not_redrivable}")
    return 1 if s.failed_again else 0


def run_test(args: argparse.Namespace) -> int:
    import os

    from alerts.config import load_alerts_config
    from alerts.destinations import build_senders
    from alerts.errors import DestinationError

    config = load_alerts_config(args.config)
    if args.destination not in config.destinations:
        known = ", ".join(sorted(config.destinations)) or "(none)"
        raise DestinationError(f"no destination {args.destination!r} in {args.config} "
                               f"(configured: {known})")
    senders = build_senders(config, env=os.environ, only=(args.destination,))
    result = asyncio.run(_send_sample(senders[args.destination]))
    status = f"HTTP {result.status}" if result.status is not None else "written"
    print(f"{args.destination}: {status} after {result.attempts} attempt(s)")
    return 0


async def _send_sample(sender: Sender) -> DeliveryResult:
    from alerts.model import Notification

    try:
        return await sender.send(Notification(alert=sample_alert(time.time())))
    finally:
        await sender.aclose()


def sample_alert(now: float) -> Alert:
    """A clearly-labelled test alert, with a fresh id so receivers do not deduplicate it."""
    from alerts.model import Alert
    from detectors.findings import utc

    return Alert(
        alert_id=f"test-{int(now * 1000):x}",
        detector="accessguard_test",
        severity="info",
        key_kind="user",
        key="accessguard-test",
        title="accessguard test alert",
        explanation="This is a test alert sent by `accessguard alerts test`; no action needed.",
        user="accessguard-test",
        source_ips=("192.0.2.1",),
        first_seen=utc(now - 60),
        last_seen=utc(now),
        event_ids=("test-event",),
        evidence={"count": 1},
        labels={"test": "true"},
    )


def _read_alert_text(arg: str) -> tuple[str, str]:
    from detectors.errors import ConfigError

    if arg == "-":
        return sys.stdin.read(), "<stdin>"
    if arg.lstrip().startswith("{"):
        return arg, "<argument>"
    try:
        return Path(arg).read_text(encoding="utf-8"), arg
    except OSError as exc:
        raise ConfigError([f"{arg}: cannot read: {exc.strerror or exc}"]) from exc


def run_route_test(args: argparse.Namespace) -> int:
    from pydantic import ValidationError

    from alerts.config import load_alerts_config
    from alerts.lifecycle import mute_reason
    from alerts.model import Alert
    from alerts.routing import route, route_matches
    from alerts.silences import SilenceStore
    from detectors.errors import ConfigError

    config = load_alerts_config(args.config)
    text, source = _read_alert_text(args.alert)
    try:
        alert = Alert.from_json(text)
    except ValidationError as exc:
        raise ConfigError([
            f"{source}: {'.'.join(str(p) for p in e['loc']) or '(top level)'}: {e['msg']}"
            for e in exc.errors(include_url=False, include_input=False)
        ]) from exc
    labels = alert.label_set()
    print("labels: " + ", ".join(f"{k}={v}" for k, v in sorted(labels.items())))
    for match in route_matches(config.routes, labels):
        print(f"route: {match}")
    print(f"destinations: {', '.join(route(config.routes, labels)) or '(none)'}")
    silences = SilenceStore(config.silences_file).load()
    muted = mute_reason(labels, now=time.time(), silences=silences)
    if muted:
        print(f"muted now: {muted}")
    return 0
