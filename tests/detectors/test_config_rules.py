import pytest

from detectors.config import Config, default_config, parse_config
from detectors.errors import ConfigError


def test_shipped_yaml_states_exactly_the_model_defaults() -> None:
    assert default_config() == Config()


def test_rule_sections_reject_unknown_keys_and_bad_values() -> None:
    text = "detectors:\n  password_spray:\n    treshold: 3\n  new_source:\n    max_countries: 0\n"
    with pytest.raises(ConfigError) as info:
        parse_config(text, source="c.yaml")
    assert info.value.problems == [
        "c.yaml:3: detectors.password_spray.treshold: unknown key",
        "c.yaml:5: detectors.new_source.max_countries: Input should be greater than or "
        "equal to 1",
    ]
