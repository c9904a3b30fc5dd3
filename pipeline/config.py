"""The accessguard config file: detector settings plus an optional ``alerts:`` section.

One YAML file; its top-level ``alerts:`` key is the alerts config (:mod:`alerts.config`),
everything else is the detector config (:mod:`detectors.config`). Each part is validated by its
own model and every problem of both is reported together, with file, line, field path and
reason, as one :class:`~detectors.errors.ConfigError`.

>>> cfg = parse_app_config('''
... detectors:
...   failed_login_burst: {threshold: 3}
... alerts:
...   destinations: {out: {kind: console}}
...   routes: {destinations: [out]}
... ''')
>>> cfg.detectors.detectors.failed_login_burst.threshold, cfg.alerts.routes.destinations
(3, ('out',))
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml
from pydantic import ValidationError

from alerts.config import AlertsConfig, parse_alerts_config
from detectors.config import Config, _key_lines, _nearest_line
from detectors.errors import ConfigError

__all__ = ["ALERTS_KEY", "AppConfig", "load_app_config", "parse_app_config"]

#: The top-level key that holds the alerts config.
ALERTS_KEY = "alerts"


@dataclass(frozen=True)
class AppConfig:
    """A whole config file: ``detectors`` (thresholds, policy) and ``alerts`` (routing)."""

    detectors: Config
    alerts: AlertsConfig


def parse_app_config(text: str, *, source: str = "<config>") -> AppConfig:
    """Validate YAML text; raise :class:`ConfigError` listing every problem of both parts."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        reason = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{where}: not valid YAML: {reason}"]) from exc
    data = {} if data is None else data
    if not isinstance(data, dict):
        raise ConfigError([f"{source}: the top level must be a mapping, not {type(data).__name__}"])
    has_alerts = ALERTS_KEY in data
    detector_data = {k: v for k, v in data.items() if k != ALERTS_KEY}
    problems: list[str] = []
    detectors: Config | None = None
    alerts: AlertsConfig | None = AlertsConfig()
    try:
        detectors = Config.model_validate(detector_data)
    except ValidationError as exc:
        problems += _problems(exc, text, source)
    if has_alerts:
        if data[ALERTS_KEY] is not None and not isinstance(data[ALERTS_KEY], dict):
            line = _nearest_line(_key_lines(text), (ALERTS_KEY,))
            where = f"{source}:{line}" if line else source
            problems.append(f"{where}: {ALERTS_KEY}: must be a mapping")
            alerts = None
        else:
            try:
                alerts = parse_alerts_config(text, source=source)
            except ConfigError as exc:
                problems += exc.problems
                alerts = None
    if problems or detectors is None or alerts is None:
        raise ConfigError(_by_line(problems))
    return AppConfig(detectors=detectors, alerts=alerts)


def load_app_config(path: str | Path) -> AppConfig:
    """Read and validate a config file (with or without an ``alerts:`` section)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{p}: cannot read: {exc.strerror or exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{p}: not UTF-8 text"]) from exc
    return parse_app_config(text, source=str(p))


def _problems(exc: ValidationError, text: str, source: str) -> list[str]:
    lines = _key_lines(text)
    out = []
    for err in exc.errors(include_url=False, include_input=False):
        path = tuple(str(p) for p in err["loc"])
        line = _nearest_line(lines, path)
        where = f"{source}:{line}" if line else source
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        msg = msg.removeprefix("Value error, ")
        out.append(f"{where}: {'.'.join(path) or '(top level)'}: {msg}")
    return out


def _by_line(problems: list[str]) -> list[str]:
    """Problems in file order (those without a line first), each once."""
    def line_of(problem: str) -> int:
        head = problem.split(": ", 1)[0]
        tail = head.rsplit(":", 1)
        return int(tail[1]) if len(tail) == 2 and tail[1].isdigit() else 0
    return sorted(dict.fromkeys(problems), key=line_of)
