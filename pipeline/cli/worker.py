"""``accessguard worker``: run the pipeline against a Kafka cluster."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from pipeline.errors import UsageError


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "worker", help="run the pipeline against a Kafka cluster",
        description="Settings come from ACCESSGUARD_* environment variables; flags override. "
        "Pass the webhook URL (a secret) as ACCESSGUARD_WEBHOOK_URL, not as a flag.",
    )
    p.add_argument("--bootstrap-servers", "-b", help="host:port[,host:port] "
                   "(env ACCESSGUARD_BOOTSTRAP_SERVERS)")
    p.add_argument("--config", "-c", type=Path, dest="config_path", help="detector config YAML")
    p.add_argument("--app-id", help="consumer group id and table prefix")
    p.add_argument("--partitions", type=int, help="partitions for topics accessguard creates")
    p.add_argument("--data-dir", type=Path, help="worker scratch directory")
    p.add_argument("--log-level", choices=["debug", "info", "warning"])
    p.set_defaults(run=run)


def settings_from_args(args: argparse.Namespace, names: tuple[str, ...]) -> Any:
    from pipeline.settings import WorkerSettings

    overrides = {n: getattr(args, n) for n in names if getattr(args, n, None) is not None}
    try:
        return WorkerSettings(**overrides)
    except ValidationError as exc:
        err = exc.errors(include_url=False)[0]
        where = ".".join(str(p) for p in err["loc"])
        raise UsageError(f"{where}: {err['msg'].removeprefix('Value error, ')}") from exc


def run(args: argparse.Namespace) -> int:
    from pipeline.worker import run_worker

    settings = settings_from_args(args, ("bootstrap_servers", "config_path", "app_id",
                                         "partitions", "data_dir", "log_level"))
    if settings.config_path is not None and not settings.config_path.is_file():
        raise UsageError(f"{settings.config_path}: no such config file")
    return run_worker(settings)
