import httpx
import pytest

from alerts.delivery import RetryPolicy, WebhookSender
from alerts.errors import DeliveryError
from alerts.model import Alert
from detectors.config import Config
from detectors.engine import Engine
from detectors.testing import make_event


@pytest.fixture
def alert() -> Alert:
    events = [make_event(ts=i, outcome="failure") for i in range(5)]
    return Alert.from_finding(next(iter(Engine(Config()).run(events))))


def sender(responses: list, sleeps: list) -> tuple[WebhookSender, list]:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        item = responses.pop(0)
        if isinstance(item, Exception):
            raise item
        return item

    async def sleep(s: float) -> None:
        sleeps.append(s)

    s = WebhookSender("http://hook.test/secret-token", transport=httpx.MockTransport(handle),
                      sleep=sleep, seed=1, retry=RetryPolicy(attempts=4))
    return s, seen


async def test_server_errors_are_retried_with_growing_backoff(alert: Alert) -> None:
    sleeps: list[float] = []
    s, seen = sender([httpx.Response(500)] * 3 + [httpx.Response(200)], sleeps)
    assert await s.send(alert) == 200
    assert len(seen) == 4 and sleeps[0] < sleeps[1] < sleeps[2]
    assert {r.headers["idempotency-key"] for r in seen} == {alert.alert_id}


async def test_retry_after_is_honoured(alert: Alert) -> None:
    sleeps: list[float] = []
    s, _ = sender([httpx.Response(429, headers={"Retry-After": "7"}), httpx.Response(204)], sleeps)
    assert await s.send(alert) == 204
    assert sleeps == [7.0]


async def test_client_errors_fail_at_once_without_leaking_the_url(alert: Alert) -> None:
    s, seen = sender([httpx.Response(400)], [])
    with pytest.raises(DeliveryError) as info:
        await s.send(alert)
    assert not info.value.retryable and len(seen) == 1
    assert "secret-token" not in str(info.value)


async def test_exhausted_retries_raise_with_the_last_reason(alert: Alert) -> None:
    s, _ = sender([httpx.ConnectError("refused")] * 4, [])
    with pytest.raises(DeliveryError, match="connection failed .* after 4 attempts"):
        await s.send(alert)
