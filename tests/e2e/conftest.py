from collections.abc import Iterator

import pytest

from pipeline.broker import EmbeddedBroker
from pipeline.receiver import WebhookReceiver


@pytest.fixture
def broker() -> Iterator[EmbeddedBroker]:
    """A fresh embedded broker per test: topics never leak between tests."""
    with EmbeddedBroker() as b:
        yield b


@pytest.fixture
def receiver() -> Iterator[WebhookReceiver]:
    with WebhookReceiver() as r:
        yield r
