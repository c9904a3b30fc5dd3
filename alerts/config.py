"""The alerts config: lifecycle timing, inhibition, the routing tree and destinations.

Secrets (webhook URLs, routing keys, signing secrets) are never written here: a destination
names the environment variable (``url_env``) or secret file (``url_file``) that holds each one,
and a literal ``url:``/``routing_key:``/``signing_secret:`` is rejected. Destination hosts must
be listed in ``allowed_hosts``.

A file may hold the alerts config at its top level or under an ``alerts:`` key (the main
accessguard config); :func:`load_alerts_config` reads both.

>>> cfg = parse_alerts_config('''
... destinations:
...   out: {kind: console}
... routes: {destinations: [out]}
... ''')
>>> cfg.routes.destinations
('out',)
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from alerts.inhibition import InhibitRule
from alerts.lifecycle import LifecyclePolicy
from alerts.routing import Route
from detectors.config import load_yaml_mapping, read_config_text, validation_problems
from detectors.errors import ConfigError

__all__ = [
    "AlertsConfig",
    "ConsoleDestinationConfig",
    "DestinationConfig",
    "FileDestinationConfig",
    "PagerDutyDestinationConfig",
    "RetryConfig",
    "SlackDestinationConfig",
    "WebhookDestinationConfig",
    "load_alerts_config",
    "parse_alerts_config",
]

#: Keys that would put a secret into the file, and what to write instead.
_LITERAL_SECRETS = {
    "url": "url_env or url_file",
    "webhook_url": "url_env or url_file",
    "routing_key": "routing_key_env or routing_key_file",
    "integration_key": "routing_key_env or routing_key_file",
    "secret": "signing_secrets_env or signing_secret_files",
    "signing_secret": "signing_secrets_env or signing_secret_files",
    "signing_secrets": "signing_secrets_env or signing_secret_files",
    "token": "an environment variable or a secret file",
    "password": "an environment variable or a secret file",
}


class RetryConfig(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    attempts: int = Field(default=5, ge=1, le=20)
    base_seconds: float = Field(default=0.5, ge=0, le=60)
    max_seconds: float = Field(default=30.0, ge=0, le=600)
    jitter: float = Field(default=0.2, ge=0, le=1, description="+/- fraction of each delay")


class _Destination(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @model_validator(mode="before")
    @classmethod
    def _no_literal_secrets(cls, data: Any) -> Any:
        if isinstance(data, dict):
            for key, instead in _LITERAL_SECRETS.items():
                if key in data:
                    raise ValueError(
                        f"'{key}' would put a secret in the config file; name where it is "
                        f"kept instead ({instead})"
                    )
        return data


class _HttpDestination(_Destination):
    timeout_seconds: float = Field(default=5.0, gt=0, le=120)
    max_concurrency: int = Field(default=4, ge=1, le=256)
    rate_per_second: float | None = Field(default=None, gt=0, description="messages/s; None: off")
    burst: int = Field(default=1, ge=1, le=1000)
    retry: RetryConfig = RetryConfig()


class _UrlSecret(_HttpDestination):
    url_env: str | None = None
    url_file: Path | None = None

    @model_validator(mode="after")
    def _one_url_source(self) -> _UrlSecret:
        if (self.url_env is None) == (self.url_file is None):
            raise ValueError("give exactly one of url_env or url_file")
        return self


class SlackDestinationConfig(_UrlSecret):
    """Slack incoming webhook; Slack accepts about one message per second per webhook."""

    kind: Literal["slack"]
    rate_per_second: float | None = Field(default=1.0, gt=0)


class PagerDutyDestinationConfig(_HttpDestination):
    """PagerDuty Events API v2; the routing (integration) key is the secret."""

    kind: Literal["pagerduty"]
    routing_key_env: str | None = None
    routing_key_file: Path | None = None
    events_url: str = "https://events.pagerduty.com/v2/enqueue"

    @model_validator(mode="after")
    def _one_key_source(self) -> PagerDutyDestinationConfig:
        if (self.routing_key_env is None) == (self.routing_key_file is None):
            raise ValueError("give exactly one of routing_key_env or routing_key_file")
        return self


class WebhookDestinationConfig(_UrlSecret):
    """Generic JSON webhook, signed (Standard Webhooks) with every listed ``whsec_`` secret."""

    kind: Literal["webhook"]
    signing_secrets_env: tuple[str, ...] = ()
    signing_secret_files: tuple[Path, ...] = ()


class ConsoleDestinationConfig(_Destination):
    """One JSON line per message on standard output."""

    kind: Literal["console"]


class FileDestinationConfig(_Destination):
    """One JSON line per message appended to ``path``."""

    kind: Literal["file"]
    path: Path


DestinationConfig = Annotated[
    SlackDestinationConfig | PagerDutyDestinationConfig | WebhookDestinationConfig
    | ConsoleDestinationConfig | FileDestinationConfig,
    Field(discriminator="kind"),
]


_KINDS = ("slack", "pagerduty", "webhook", "console", "file")


def _console_only() -> dict[str, DestinationConfig]:
    return {"console": ConsoleDestinationConfig(kind="console")}


class AlertsConfig(BaseModel):
    """The ``alerts`` section: how findings become pages, and where they go."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    lifecycle: LifecyclePolicy = LifecyclePolicy()
    inhibit_rules: tuple[InhibitRule, ...] = ()
    routes: Route = Route(destinations=("console",))
    destinations: dict[str, DestinationConfig] = Field(default_factory=_console_only)
    allowed_hosts: tuple[str, ...] = Field(
        default=(), description="hosts HTTP destinations may send to (exact names, lower case)"
    )
    silences_file: Path = Path("silences.json")

    @model_validator(mode="after")
    def _routes_name_known_destinations(self) -> AlertsConfig:
        unknown = sorted({d for r in self.routes.walk() for d in r.destinations}
                         - set(self.destinations))
        if unknown:
            raise ValueError(f"routes name unknown destinations: {', '.join(unknown)}")
        return self


def parse_alerts_config(text: str, *, source: str = "<alerts config>") -> AlertsConfig:
    """Validate YAML text (alerts config at the top level or under ``alerts:``)."""
    data = load_yaml_mapping(text, source)
    prefix: tuple[str, ...] = ()
    if "alerts" in data:
        prefix, data = ("alerts",), data["alerts"] or {}

    def locate(loc: list[str]) -> tuple[str, ...]:
        if loc[:1] == ["destinations"] and len(loc) > 2 and loc[2] in _KINDS:
            del loc[2]  # the union's tag: the user wrote it as `kind`
        return (*prefix, *loc)

    try:
        return AlertsConfig.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_problems(exc, text, source, locate)) from exc


def load_alerts_config(path: str | Path) -> AlertsConfig:
    """Read and validate an alerts config file (or the ``alerts:`` section of a config)."""
    return parse_alerts_config(read_config_text(path), source=str(path))
