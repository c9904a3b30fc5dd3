"""The whole config file: detector settings (``detectors.config.Config``) plus the ``alerts:``
section (``alerts.config.AlertsConfig``), each validated by its own package; problems from
both are reported together, each with file, line, field path and reason."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from alerts.config import AlertsConfig, parse_alerts_config
from detectors.config import Config, default_config, parse_config, read_config_text
from detectors.errors import ConfigError

__all__ = ["AppConfig", "default_app_config", "load_app_config", "parse_app_config"]


@dataclass(frozen=True)
class AppConfig:
    detectors: Config
    alerts: AlertsConfig


def parse_app_config(text: str, *, source: str = "<config>") -> AppConfig:
    problems: list[str] = []
    detectors: Config | None = None
    alerts: AlertsConfig | None = None
    try:
        detectors = parse_config(text, source=source)
    except ConfigError as exc:
        problems += exc.problems
    if detectors is None or detectors.alerts is not None:
        try:
            alerts = parse_alerts_config(text if detectors is not None else
                                         _alerts_only(text), source=source)
        except ConfigError as exc:
            problems += [p for p in exc.problems if p not in problems]
    if problems:
        raise ConfigError(problems)
    assert detectors is not None
    return AppConfig(detectors, alerts or AlertsConfig())


def _alerts_only(text: str) -> str:
    # When the detector part is broken, still validate an alerts section if there is one.
    return text if "\nalerts:" in f"\n{text}" else "alerts: {}\n"


def load_app_config(path: str | Path | None) -> AppConfig:
    """Read and validate the config file; None gives the built-in defaults."""
    if path is None:
        return default_app_config()
    return parse_app_config(read_config_text(path), source=str(path))


def default_app_config() -> AppConfig:
    return AppConfig(default_config(), AlertsConfig())
