"""The detector config file: YAML validated by pydantic, unknown keys rejected.

Errors name the file, the line where known, the field path and the reason, one per problem.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from detectors.errors import ConfigError
from detectors.ml.behaviour_anomaly import BehaviourAnomalyConfig
from detectors.rules.credential_hygiene import CredentialHygieneConfig
from detectors.rules.denied_action_burst import DeniedActionBurstConfig
from detectors.rules.elevation_abuse import ElevationAbuseConfig
from detectors.rules.failed_login_burst import FailedLoginBurstConfig
from detectors.rules.failure_then_success import FailureThenSuccessConfig
from detectors.rules.impossible_travel import ImpossibleTravelConfig
from detectors.rules.mfa_fatigue import MfaFatigueConfig
from detectors.rules.mfa_missing import MfaMissingConfig
from detectors.rules.new_source import NewSourceConfig
from detectors.rules.password_spray import PasswordSprayConfig
from detectors.rules.policy_violation import PolicyViolationConfig
from detectors.rules.unscheduled_access import UnscheduledAccessConfig

__all__ = ["Config", "DetectorsConfig", "default_config", "load_config", "parse_config"]


class DetectorsConfig(BaseModel):
    """One section per detector; the key is the detector's name."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    failed_login_burst: FailedLoginBurstConfig = FailedLoginBurstConfig()
    password_spray: PasswordSprayConfig = PasswordSprayConfig()
    failure_then_success: FailureThenSuccessConfig = FailureThenSuccessConfig()
    mfa_fatigue: MfaFatigueConfig = MfaFatigueConfig()
    denied_action_burst: DeniedActionBurstConfig = DeniedActionBurstConfig()
    mfa_missing: MfaMissingConfig = MfaMissingConfig()
    new_source: NewSourceConfig = NewSourceConfig()
    impossible_travel: ImpossibleTravelConfig = ImpossibleTravelConfig()
    policy_violation: PolicyViolationConfig = PolicyViolationConfig()
    unscheduled_access: UnscheduledAccessConfig = UnscheduledAccessConfig()
    elevation_abuse: ElevationAbuseConfig = ElevationAbuseConfig()
    credential_hygiene: CredentialHygieneConfig = CredentialHygieneConfig()
    behaviour_anomaly: BehaviourAnomalyConfig = BehaviourAnomalyConfig()


class Config(BaseModel):
    """Everything analysts tune. Secrets never live here: they come from the environment."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    version: Literal[1] = 1
    allowed_lateness_seconds: float = Field(
        300.0, ge=0, le=86400,
        description="how far behind a key's newest event time an event may arrive and still count",
    )
    sensitive_environments: tuple[str, ...] = ("production",)
    detectors: DetectorsConfig = DetectorsConfig()
    #: The alerting section (routes, destinations, lifecycle). It is validated by the alerts
    #: package at the pipeline level; the detectors only carry it through, unread.
    alerts: dict[str, Any] | None = Field(None, description="see alerts.config.AlertsConfig")

    @model_validator(mode="before")
    @classmethod
    def _inherit_sensitive_environments(cls, data: Any) -> Any:
        """``detectors.unscheduled_access.environments`` defaults to ``sensitive_environments``."""
        if not isinstance(data, dict):
            return data
        envs = data.get("sensitive_environments",
                        cls.model_fields["sensitive_environments"].default)
        if not isinstance(envs, list | tuple) or not all(isinstance(e, str) for e in envs):
            return data  # invalid: reported once, at sensitive_environments
        dets = data.get("detectors")
        if isinstance(dets, DetectorsConfig):
            section = dets.unscheduled_access
            if section.environments is None:
                section = section.model_copy(update={"environments": tuple(envs)})
                dets = dets.model_copy(update={"unscheduled_access": section})
                data = {**data, "detectors": dets}
            return data
        dets = {} if dets is None else dets
        raw = dets.get("unscheduled_access") if isinstance(dets, dict) else None
        raw = {} if raw is None else raw
        if isinstance(raw, dict) and raw.get("environments") is None:
            raw = {**raw, "environments": list(envs)}
            data = {**data, "detectors": {**dets, "unscheduled_access": raw}}
        return data


def load_yaml_mapping(text: str, source: str) -> dict[str, Any]:
    """The YAML document as a mapping (empty for an empty file), or a one-line ConfigError."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"{source}:{mark.line + 1}" if mark is not None else source
        reason = getattr(exc, "problem", None) or str(exc)
        raise ConfigError([f"{where}: not valid YAML: {reason}"]) from exc
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise ConfigError([f"{source}: the top level must be a mapping, not {type(data).__name__}"])
    return data


def validation_problems(
    exc: ValidationError, text: str, source: str,
    locate: Callable[[list[str]], tuple[str, ...]] = tuple,
) -> list[str]:
    """One ``file:line: field.path: reason`` line per pydantic error; ``locate`` maps an
    error's location to the path the user wrote (e.g. with a section prefix)."""
    lines = _key_lines(text)
    problems = []
    for err in exc.errors(include_url=False, include_input=False):
        path = locate([str(p) for p in err["loc"]])
        line = _nearest_line(lines, path)
        where = f"{source}:{line}" if line else source
        msg = "unknown key" if err["type"] == "extra_forbidden" else err["msg"]
        problems.append(f"{where}: {'.'.join(path) or '(top level)'}: "
                        f"{msg.removeprefix('Value error, ')}")
    return problems


def read_config_text(path: str | Path) -> str:
    """A config file's text; missing, unreadable or non-UTF-8 files are a ConfigError."""
    p = Path(path)
    try:
        return p.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([f"{p}: cannot read: {exc.strerror or exc}"]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError([f"{p}: not UTF-8 text"]) from exc


def parse_config(text: str, *, source: str = "<config>") -> Config:
    """Validate YAML text; raise :class:`ConfigError` listing every problem."""
    data = load_yaml_mapping(text, source)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        raise ConfigError(validation_problems(exc, text, source)) from exc


def load_config(path: str | Path) -> Config:
    """Read and validate a config file; missing or unreadable files are a ConfigError too."""
    return parse_config(read_config_text(path), source=str(path))


def default_config() -> Config:
    """The config that ships with accessguard (``detectors/default_config.yaml``)."""
    text = resources.files("detectors").joinpath("default_config.yaml").read_text("utf-8")
    return parse_config(text, source="default_config.yaml")


def _key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Map each mapping key path (and list index) in the YAML to its 1-based line."""
    out: dict[tuple[str, ...], int] = {}
    try:
        root = yaml.compose(text)
    except yaml.YAMLError:
        return out

    def walk(node: Any, path: tuple[str, ...]) -> None:
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                sub = (*path, str(key.value))
                out[sub] = key.start_mark.line + 1
                walk(value, sub)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                sub = (*path, str(i))
                out[sub] = item.start_mark.line + 1
                walk(item, sub)

    walk(root, ())
    return out


def _nearest_line(lines: dict[tuple[str, ...], int], path: tuple[str, ...]) -> int | None:
    while path:
        if path in lines:
            return lines[path]
        path = path[:-1]
    return None
