from pathlib import Path

import pytest

from detectors.config import default_config, load_config, parse_config
from detectors.errors import ConfigError


def test_default_config_is_valid_and_matches_model_defaults() -> None:
    cfg = default_config()
    assert cfg.detectors.failed_login_burst.threshold == 5
    assert cfg.detectors.failed_login_burst.window_seconds == 300


def test_errors_name_file_line_path_and_reason(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text(
        "detectors:\n"
        "  failed_login_burst:\n"
        "    threshold: 1\n"
        "    windw_seconds: 60\n"
    )
    with pytest.raises(ConfigError) as info:
        load_config(path)
    problems = info.value.problems
    assert f"{path}:3: detectors.failed_login_burst.threshold: Input should be greater" in (
        problems[0])
    assert problems[1] == f"{path}:4: detectors.failed_login_burst.windw_seconds: unknown key"


def test_broken_yaml_and_missing_file_are_config_errors(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not valid YAML"):
        parse_config("a: [1, 2", source="x.yaml")
    with pytest.raises(ConfigError, match="cannot read"):
        load_config(tmp_path / "missing.yaml")
    with pytest.raises(ConfigError, match="must be a mapping"):
        parse_config("- 1\n- 2\n")
