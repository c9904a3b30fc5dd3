"""accessguard's pure detector core: the event contract, windows, detectors, replay.

Nothing here touches Kafka, HTTP, the environment or the wall clock: time comes from events.
"""

from detectors.config import Config, default_config, load_config, parse_config
from detectors.engine import Engine
from detectors.errors import AccessGuardError, ConfigError, EventError
from detectors.events import AccessEvent, parse_event
from detectors.findings import Finding

__all__ = [
    "AccessEvent",
    "AccessGuardError",
    "Config",
    "ConfigError",
    "Engine",
    "EventError",
    "Finding",
    "default_config",
    "load_config",
    "parse_config",
    "parse_event",
]
