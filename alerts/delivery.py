"""Delivering alerts over HTTP with retries.

Retries with capped exponential backoff and jitter on connect errors, timeouts, 429 (honouring
``Retry-After``) and 5xx; other 4xx fail at once. Either the destination accepts the alert, or
:class:`DeliveryError` says why (the caller dead-letters it): never a silent drop.

The HTTP transport and the sleep function are injected, so tests use a real local server or
``httpx.MockTransport`` and need not wait.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

import httpx

from alerts.errors import DeliveryError
from alerts.model import Alert

__all__ = ["RetryPolicy", "WebhookSender"]

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_seconds: float = 0.5
    max_seconds: float = 30.0
    jitter: float = 0.2  # +/- fraction of each delay

    def delay(self, attempt: int, rng: random.Random, retry_after: float | None = None) -> float:
        """Seconds to wait after failed ``attempt`` (1-based)."""
        if retry_after is not None:
            return min(max(retry_after, 0.0), self.max_seconds)
        raw = min(self.base_seconds * 2 ** (attempt - 1), self.max_seconds)
        return raw * (1 + rng.uniform(-self.jitter, self.jitter))


def _retry_after(resp: httpx.Response) -> float | None:
    value = resp.headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        return None  # an HTTP date: fall back to our own backoff


class WebhookSender:
    """POSTs alerts as JSON to one URL. The URL is a secret: it never appears in errors."""

    def __init__(
        self,
        url: str,
        *,
        name: str = "webhook",
        timeout_seconds: float = 5.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        seed: int | None = None,
    ) -> None:
        self.name = name
        self._url = url
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._rng = random.Random(seed)
        self._client = httpx.AsyncClient(timeout=timeout_seconds, transport=transport)

    async def send(self, alert: Alert) -> int:
        """Deliver one alert; return the final HTTP status, or raise :class:`DeliveryError`."""
        body = alert.to_json()
        headers = {
            "content-type": "application/json",
            "idempotency-key": alert.alert_id,
            "user-agent": "accessguard/0.1",
        }
        policy = self._retry
        reason = ""
        for attempt in range(1, policy.attempts + 1):
            retry_after: float | None = None
            try:
                resp = await self._client.post(self._url, content=body, headers=headers)
            except httpx.TimeoutException:
                reason = "timed out"
            except httpx.TransportError as exc:
                reason = f"connection failed ({type(exc).__name__})"
            else:
                if resp.status_code < 300:
                    return resp.status_code
                reason = f"HTTP {resp.status_code}"
                if resp.status_code == 429:
                    retry_after = _retry_after(resp)
                elif resp.status_code < 500:
                    raise DeliveryError(
                        f"{self.name}: {reason} (not retried)", attempts=attempt, retryable=False
                    )
            if attempt < policy.attempts:
                await self._sleep(policy.delay(attempt, self._rng, retry_after))
        raise DeliveryError(
            f"{self.name}: {reason} after {policy.attempts} attempts",
            attempts=policy.attempts, retryable=True,
        )

    async def aclose(self) -> None:
        await self._client.aclose()
