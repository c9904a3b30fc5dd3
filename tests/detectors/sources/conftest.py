from pathlib import Path

import pytest

from tests.detectors.sources.support import shared_data_dir


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The real public samples (see ../shared/data/README.md)."""
    return shared_data_dir()
