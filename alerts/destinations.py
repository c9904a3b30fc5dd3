"""Build senders from the alerts config and the environment (where the secrets are).

Secrets are read here, once, from the environment mapping or the secret files the config
names; errors name the variable or file, never the value. HTTP destinations must point at a
host in ``allowed_hosts``, over https (plain http only to loopback, for local receivers).
"""

from __future__ import annotations

import asyncio
import ipaddress
import json
import time
from collections.abc import Mapping
from functools import partial
from pathlib import Path
from typing import IO

import httpx

from alerts.config import (
    AlertsConfig,
    ConsoleDestinationConfig,
    DestinationConfig,
    FileDestinationConfig,
    PagerDutyDestinationConfig,
    SlackDestinationConfig,
    WebhookDestinationConfig,
)
from alerts.delivery import (
    Clock,
    ConsoleSender,
    FileSender,
    HttpSender,
    RetryPolicy,
    Sender,
    Sleep,
    TokenBucket,
)
from alerts.errors import DestinationError
from alerts.model import Notification
from alerts.pagerduty import pagerduty_event
from alerts.signing import decode_secret, signature_headers
from alerts.slack import slack_message
from alerts.webhook import webhook_payload

__all__ = ["build_sender", "build_senders", "render_pagerduty", "render_slack", "render_webhook"]


def _dumps(data: object) -> bytes:
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()


def render_slack(note: Notification, now: float) -> tuple[bytes, dict[str, str]]:
    return _dumps(slack_message(note)), {}


def render_pagerduty(
    note: Notification, now: float, *, routing_key: str
) -> tuple[bytes, dict[str, str]]:
    return _dumps(pagerduty_event(note, routing_key=routing_key)), {}


def render_webhook(
    note: Notification, now: float, *, keys: tuple[bytes, ...]
) -> tuple[bytes, dict[str, str]]:
    body = _dumps(webhook_payload(note))
    return body, signature_headers(note.idempotency_key, int(now), body, keys)


def _read_secret(name: str, what: str, env_var: str | None, file: Path | None,
                 env: Mapping[str, str]) -> str:
    if env_var is not None:
        value = env.get(env_var, "").strip()
        if not value:
            raise DestinationError(f"destination {name}: environment variable {env_var} "
                                   f"({what}) is not set")
        return value
    assert file is not None  # the config model guarantees one of the two
    try:
        value = file.read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise DestinationError(f"destination {name}: cannot read secret file {file} ({what})"
                               ) from exc
    if not value:
        raise DestinationError(f"destination {name}: secret file {file} ({what}) is empty")
    return value


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _checked_url(name: str, url: str, allowed_hosts: tuple[str, ...]) -> str:
    try:
        parsed = httpx.URL(url)
    except (httpx.InvalidURL, TypeError, ValueError):
        raise DestinationError(f"destination {name}: the configured URL is not valid") from None
    host = parsed.host.lower()
    if parsed.scheme not in ("https", "http") or not host:
        raise DestinationError(f"destination {name}: the URL must be an https URL")
    if parsed.scheme == "http" and not _is_loopback(host):
        raise DestinationError(f"destination {name}: plain http is only allowed to loopback "
                               f"hosts; use https for {host}")
    if host not in {h.lower() for h in allowed_hosts}:
        raise DestinationError(f"destination {name}: host {host} is not in allowed_hosts")
    return url


def build_sender(
    name: str, cfg: DestinationConfig, *, allowed_hosts: tuple[str, ...],
    env: Mapping[str, str], transport: httpx.AsyncBaseTransport | None = None,
    sleep: Sleep = asyncio.sleep, clock: Clock = time.time, monotonic: Clock = time.monotonic,
    seed: int | None = None, stream: IO[str] | None = None,
) -> Sender:
    """One sender for destination ``name``. Raises :class:`DestinationError`."""
    if isinstance(cfg, ConsoleDestinationConfig):
        return ConsoleSender(name, stream=stream)
    if isinstance(cfg, FileDestinationConfig):
        return FileSender(cfg.path, name)
    if isinstance(cfg, PagerDutyDestinationConfig):
        key = _read_secret(name, "routing key", cfg.routing_key_env, cfg.routing_key_file, env)
        url = _checked_url(name, cfg.events_url, allowed_hosts)
        render = partial(render_pagerduty, routing_key=key)
    elif isinstance(cfg, SlackDestinationConfig):
        url = _checked_url(name, _read_secret(name, "webhook URL", cfg.url_env, cfg.url_file, env),
                           allowed_hosts)
        render = render_slack  # type: ignore[assignment]
    elif isinstance(cfg, WebhookDestinationConfig):
        url = _checked_url(name, _read_secret(name, "webhook URL", cfg.url_env, cfg.url_file, env),
                           allowed_hosts)
        what = "signing secret"
        raw = [_read_secret(name, what, v, None, env) for v in cfg.signing_secrets_env]
        raw += [_read_secret(name, what, None, f, env) for f in cfg.signing_secret_files]
        try:
            keys = tuple(decode_secret(s) for s in raw)
        except ValueError as exc:
            raise DestinationError(f"destination {name}: {exc}") from None
        render = partial(render_webhook, keys=keys)
    else:  # pragma: no cover - the discriminated union is exhaustive
        raise DestinationError(f"destination {name}: unknown kind")
    r = cfg.retry
    bucket = (TokenBucket(cfg.rate_per_second, cfg.burst, clock=monotonic, sleep=sleep)
              if cfg.rate_per_second else None)
    return HttpSender(
        url, name=name, kind=cfg.kind, render=render, timeout_seconds=cfg.timeout_seconds,
        retry=RetryPolicy(r.attempts, r.base_seconds, r.max_seconds, r.jitter),
        max_concurrency=cfg.max_concurrency, rate_limit=bucket, transport=transport,
        sleep=sleep, clock=clock, seed=seed,
    )


def build_senders(
    config: AlertsConfig, *, env: Mapping[str, str], only: tuple[str, ...] | None = None,
    **kwargs: object,
) -> dict[str, Sender]:
    """Senders for every configured destination (or just ``only``), keyed by name.

    Problems with several destinations are reported together, one per line.
    ``kwargs`` go to :func:`build_sender` (transport, sleep, clock, monotonic, seed, stream).
    """
    senders: dict[str, Sender] = {}
    problems: list[str] = []
    for name, cfg in config.destinations.items():
        if only is not None and name not in only:
            continue
        try:
            senders[name] = build_sender(name, cfg, allowed_hosts=config.allowed_hosts, env=env,
                                         **kwargs)  # type: ignore[arg-type]
        except DestinationError as exc:
            problems.append(str(exc))
    if problems:
        raise DestinationError("; ".join(problems))
    return senders
