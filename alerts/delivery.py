"""Delivering notifications over HTTP: rate limits, concurrency limits, retries.

Retries with capped exponential backoff and jitter on connect errors, timeouts, 429 (honouring
``Retry-After``) and 5xx; other 4xx fail at once. Either the destination accepts the message,
or :class:`~alerts.errors.DeliveryError` says why (the caller dead-letters it): never a silent
drop. The idempotency key travels as the ``Idempotency-Key`` header.

The URL may itself be a secret (Slack and most webhooks): the client only ever sees a
redacted copy and a wrapping transport swaps the real one in, so httpx's request log lines,
exceptions and our errors never contain it.

The HTTP transport, the clock and the sleep function are injected: tests use a real local
server or ``httpx.MockTransport`` and need not wait.
"""

from __future__ import annotations

import asyncio
import email.utils
import json
import random
import sys
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Protocol

import httpx

from alerts.errors import DeliveryError
from alerts.model import Notification

__all__ = [
    "Clock",
    "ConsoleSender",
    "DeliveryResult",
    "Dispatcher",
    "FileSender",
    "HttpSender",
    "Outcome",
    "Render",
    "RetryPolicy",
    "Sender",
    "Sleep",
    "TokenBucket",
    "json_render",
]

Sleep = Callable[[float], Awaitable[None]]
Clock = Callable[[], float]
#: Builds the request body and extra headers for a message, given the send time.
Render = Callable[[Notification, float], tuple[bytes, dict[str, str]]]


@dataclass(frozen=True, slots=True)
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


class TokenBucket:
    """``rate`` tokens per second, at most ``burst`` saved up; :meth:`acquire` waits for one.

    >>> t = [0.0]
    >>> async def sleep(s: float) -> None: t[0] += s
    >>> bucket = TokenBucket(rate=1.0, burst=1, clock=lambda: t[0], sleep=sleep)
    >>> async def three() -> float:
    ...     for _ in range(3): await bucket.acquire()
    ...     return t[0]
    >>> asyncio.run(three())
    2.0
    """

    def __init__(self, rate: float, burst: int = 1, *, clock: Clock = time.monotonic,
                 sleep: Sleep = asyncio.sleep) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._sleep = sleep
        self._tokens = float(burst)
        self._at = clock()
        self._lock = asyncio.Lock()

    async def acquire(self) -> None:
        async with self._lock:  # first come, first served
            while True:
                now = self._clock()
                self._tokens = min(self.burst, self._tokens + (now - self._at) * self.rate)
                self._at = now
                if self._tokens >= 1:
                    self._tokens -= 1
                    return
                await self._sleep((1 - self._tokens) / self.rate)


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    destination: str
    status: int | None  # HTTP status; None for console and file sinks
    attempts: int


class Sender(Protocol):
    """A named destination that takes one notification at a time."""

    name: str

    async def send(self, note: Notification) -> DeliveryResult: ...

    async def aclose(self) -> None: ...


def json_render(note: Notification, now: float) -> tuple[bytes, dict[str, str]]:
    """The plain renderer: the notification itself as JSON."""
    return note.to_json(), {}


def _retry_after(resp: httpx.Response, now: float) -> float | None:
    value = resp.headers.get("retry-after")
    if value is None:
        return None
    try:
        return float(value)
    except ValueError:
        pass
    try:
        return email.utils.parsedate_to_datetime(value).timestamp() - now
    except (TypeError, ValueError):
        return None


class _RealUrl(httpx.AsyncBaseTransport):
    """Swaps the real (secret) URL into each request on its way to the wire."""

    def __init__(self, inner: httpx.AsyncBaseTransport, url: httpx.URL) -> None:
        self._inner = inner
        self._url = url

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        # A new request: httpx logs the original one, which keeps the redacted URL.
        real = httpx.Request(request.method, self._url, headers=request.headers,
                             stream=request.stream, extensions=request.extensions)
        return await self._inner.handle_async_request(real)

    async def aclose(self) -> None:
        await self._inner.aclose()


class HttpSender:
    """POSTs rendered notifications to one URL, within a rate and concurrency limit."""

    def __init__(
        self,
        url: str,
        *,
        name: str = "webhook",
        kind: str = "webhook",
        render: Render = json_render,
        timeout_seconds: float = 5.0,
        retry: RetryPolicy | None = None,
        max_concurrency: int = 4,
        rate_limit: TokenBucket | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        sleep: Sleep = asyncio.sleep,
        clock: Clock = time.time,
        seed: int | None = None,
    ) -> None:
        self.name = name
        self.kind = kind
        real = httpx.URL(url)
        self._public_url = httpx.URL(scheme=real.scheme, host=real.host, port=real.port,
                                     path="/redacted")
        self._render = render
        self._retry = retry or RetryPolicy()
        self._sleep = sleep
        self._clock = clock
        self._rng = random.Random(seed)
        self._gate = asyncio.Semaphore(max_concurrency)
        self._bucket = rate_limit
        inner = transport if transport is not None else httpx.AsyncHTTPTransport()
        self._client = httpx.AsyncClient(timeout=timeout_seconds, transport=_RealUrl(inner, real),
                                         follow_redirects=False)

    @property
    def host(self) -> str:
        """The destination host (not secret; the path and query may be)."""
        return self._public_url.host

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} ({self.kind}) host={self.host}>"

    async def _post(self, note: Notification) -> httpx.Response:
        if self._bucket is not None:
            await self._bucket.acquire()
        async with self._gate:
            body, extra = self._render(note, self._clock())
            headers = {
                "content-type": "application/json",
                "idempotency-key": note.idempotency_key,
                "accessguard-alert-id": note.alert.alert_id,
                "user-agent": "accessguard/0.1",
                **extra,
            }
            return await self._client.post(self._public_url, content=body, headers=headers)

    async def send(self, note: Notification) -> DeliveryResult:
        """Deliver one message; return the final status, or raise :class:`DeliveryError`."""
        policy = self._retry
        reason = ""
        status: int | None = None
        for attempt in range(1, policy.attempts + 1):
            retry_after: float | None = None
            try:
                resp = await self._post(note)
            except httpx.TimeoutException:
                reason, status = "timed out", None
            except httpx.TransportError as exc:
                reason, status = f"connection failed ({type(exc).__name__})", None
            else:
                status = resp.status_code
                if status < 300:
                    return DeliveryResult(self.name, status, attempt)
                reason = f"HTTP {status}"
                if status == 429:
                    retry_after = _retry_after(resp, self._clock())
                elif status < 500:
                    raise DeliveryError(f"{self.name}: {reason} (not retried)", attempts=attempt,
                                        retryable=False, status=status)
            if attempt < policy.attempts:
                await self._sleep(policy.delay(attempt, self._rng, retry_after))
        raise DeliveryError(f"{self.name}: {reason} after {policy.attempts} attempts",
                            attempts=policy.attempts, retryable=True, status=status)

    async def aclose(self) -> None:
        await self._client.aclose()


class ConsoleSender:
    """Writes each message as one JSON line to a stream (standard output by default)."""

    def __init__(self, name: str = "console", *, stream: IO[str] | None = None) -> None:
        self.name = name
        self.kind = "console"
        self._stream = stream

    async def send(self, note: Notification) -> DeliveryResult:
        stream = self._stream or sys.stdout
        stream.write(json.dumps(note.model_dump(mode="json"), sort_keys=True) + "\n")
        stream.flush()
        return DeliveryResult(self.name, None, 1)

    async def aclose(self) -> None:
        return None


class FileSender:
    """Appends each message as one JSON line to a file."""

    def __init__(self, path: str | Path, name: str = "file") -> None:
        self.name = name
        self.kind = "file"
        self.path = Path(path)

    async def send(self, note: Notification) -> DeliveryResult:
        line = json.dumps(note.model_dump(mode="json"), sort_keys=True) + "\n"
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with self.path.open("a", encoding="utf-8") as f:
                f.write(line)
        except OSError as exc:
            raise DeliveryError(f"{self.name}: cannot write {self.path}: {exc.strerror or exc}",
                                attempts=1, retryable=True) from exc
        return DeliveryResult(self.name, None, 1)

    async def aclose(self) -> None:
        return None


@dataclass(frozen=True, slots=True)
class Outcome:
    """One destination's answer: ``result`` if delivered, else ``error`` (dead-letter it)."""

    destination: str
    result: DeliveryResult | None = None
    error: DeliveryError | None = None

    @property
    def delivered(self) -> bool:
        return self.error is None


class Dispatcher:
    """Sends a message to several destinations at once; never raises a DeliveryError."""

    def __init__(self, senders: Mapping[str, Sender]) -> None:
        self.senders = dict(senders)

    async def _one(self, note: Notification, name: str) -> Outcome:
        sender = self.senders.get(name)
        if sender is None:
            return Outcome(name, error=DeliveryError(f"{name}: no such destination",
                                                     attempts=0, retryable=False))
        try:
            return Outcome(name, result=await sender.send(note))
        except DeliveryError as exc:
            return Outcome(name, error=exc)

    async def dispatch(self, note: Notification, destinations: Sequence[str]) -> list[Outcome]:
        """One :class:`Outcome` per destination name, in the given order."""
        return list(await asyncio.gather(*(self._one(note, d) for d in destinations)))

    async def aclose(self) -> None:
        for sender in self.senders.values():
            await sender.aclose()
