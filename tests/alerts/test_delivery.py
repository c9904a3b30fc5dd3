"""Delivery against a real HTTP receiver on 127.0.0.1 (see conftest.Receiver)."""

from __future__ import annotations

import asyncio
import json
import logging

import httpx
import pytest

from alerts.deadletter import dead_letter, parse_dead_letter, redrive
from alerts.delivery import (
    ConsoleSender,
    Dispatcher,
    FileSender,
    HttpSender,
    RetryPolicy,
    TokenBucket,
)
from alerts.errors import DeliveryError
from alerts.model import Notification
from alerts.testing import make_alert
from tests.alerts.conftest import FakeSleep, Receiver, Reply, free_port


def http_sender(url: str, sleep: FakeSleep, **kw: object) -> HttpSender:
    kw.setdefault("retry", RetryPolicy(attempts=5, base_seconds=0.01, max_seconds=0.5))
    kw.setdefault("timeout_seconds", 2.0)
    return HttpSender(url, name="hook", sleep=sleep, seed=7, **kw)  # type: ignore[arg-type]


async def test_200_is_delivered_once_with_the_idempotency_key(
    receiver: Receiver, note: Notification
) -> None:
    s = http_sender(receiver.url, FakeSleep())
    result = await s.send(note)
    await s.aclose()
    assert (result.status, result.attempts) == (200, 1)
    [req] = receiver.requests
    assert req.headers["idempotency-key"] == note.alert.alert_id
    assert req.path == "/hooks/T0SECRETPATH"
    assert json.loads(req.body)["alert"]["alert_id"] == note.alert.alert_id


async def test_500_three_times_then_200(receiver: Receiver, note: Notification) -> None:
    receiver.script = [Reply(500), Reply(502), Reply(503)]
    sleep = FakeSleep()
    s = http_sender(receiver.url, sleep)
    result = await s.send(note)
    await s.aclose()
    assert (result.status, result.attempts) == (200, 4)
    assert len(receiver.requests) == 4
    assert sleep.delays[0] < sleep.delays[1] < sleep.delays[2]  # exponential, despite jitter
    assert {r.headers["idempotency-key"] for r in receiver.requests} == {note.alert.alert_id}


async def test_backoff_is_capped_and_jittered() -> None:
    import random

    policy = RetryPolicy(attempts=10, base_seconds=1, max_seconds=8, jitter=0.2)
    delays = [policy.delay(a, random.Random(a)) for a in range(1, 10)]
    assert all(d <= 8 * 1.2 for d in delays) and delays[-1] >= 8 * 0.8
    assert len({round(d, 6) for d in delays[4:]}) > 1  # jitter spreads the capped delays


async def test_429_retry_after_is_honoured(receiver: Receiver, note: Notification) -> None:
    receiver.script = [Reply(429, {"Retry-After": "0.3"})]
    sleep = FakeSleep()
    s = http_sender(receiver.url, sleep)
    result = await s.send(note)
    await s.aclose()
    assert result.status == 200 and sleep.delays == [0.3]


async def test_timeouts_are_retried(receiver: Receiver, note: Notification) -> None:
    receiver.script = [Reply(200, delay_seconds=0.6)]
    sleep = FakeSleep()
    s = http_sender(receiver.url, sleep, timeout_seconds=0.15)
    result = await s.send(note)
    await s.aclose()
    assert (result.status, result.attempts) == (200, 2)
    assert len(sleep.delays) == 1
    # the receiver saw it twice: the idempotency key lets it drop the second copy
    keys = [r.headers["idempotency-key"] for r in receiver.requests]
    assert keys == [note.idempotency_key] * 2


async def test_timeouts_exhaust_retries_into_a_retryable_error(
    receiver: Receiver, note: Notification
) -> None:
    receiver.script = [Reply(200, delay_seconds=0.4)] * 2
    s = http_sender(receiver.url, FakeSleep(), timeout_seconds=0.1,
                    retry=RetryPolicy(attempts=2, base_seconds=0.01))
    with pytest.raises(DeliveryError, match="hook: timed out after 2 attempts") as info:
        await s.send(note)
    await s.aclose()
    assert info.value.retryable


async def test_400_fails_at_once_and_is_dead_lettered(
    receiver: Receiver, note: Notification
) -> None:
    receiver.script = [Reply(400)]
    s = http_sender(receiver.url, FakeSleep())
    outcomes = await Dispatcher({"hook": s}).dispatch(note, ["hook"])
    await s.aclose()
    [out] = outcomes
    assert not out.delivered and out.error is not None
    assert (out.error.retryable, out.error.attempts, out.error.status) == (False, 1, 400)
    assert len(receiver.requests) == 1
    record = dead_letter(note, out.destination, out.error, failed_at=0)
    assert record["reason"] == "hook: HTTP 400 (not retried)"
    assert "SECRETPATH" not in json.dumps(record)
    assert parse_dead_letter(json.dumps(record)) == (note, "hook")


async def test_redrive_resends_a_dead_letter_to_its_destination(
    receiver: Receiver, note: Notification
) -> None:
    receiver.script = [Reply(400)]
    s = http_sender(receiver.url, FakeSleep())
    dispatcher = Dispatcher({"hook": s})
    [failed] = await dispatcher.dispatch(note, ["hook"])
    assert failed.error is not None
    raw = json.dumps(dead_letter(note, "hook", failed.error, failed_at=0)).encode()
    outcome = await redrive(raw, dispatcher)  # the receiver has been fixed: 200 now
    await dispatcher.aclose()
    assert outcome.delivered and outcome.result is not None and outcome.result.status == 200
    assert [r.headers["idempotency-key"] for r in receiver.requests] == [
        note.idempotency_key] * 2


async def test_receiver_down_for_several_rounds_then_up_delivers_every_alert() -> None:
    """Connection refused for the first rounds; the receiver comes up; nothing is lost."""
    port = free_port()
    receiver = Receiver(port)
    rounds = 0

    async def sleep(seconds: float) -> None:
        nonlocal rounds
        rounds += 1
        if rounds == 3 * 4:  # every alert has failed three times: start the receiver
            receiver.start()
        await asyncio.sleep(0)

    url = f"http://127.0.0.1:{port}/hook"
    s = HttpSender(url, name="hook", sleep=sleep, seed=1, max_concurrency=2,
                   retry=RetryPolicy(attempts=8, base_seconds=0.001))
    notes = [Notification(alert=make_alert(incident=f"i{i}")) for i in range(4)]
    try:
        dispatcher = Dispatcher({"hook": s})
        outcomes = await asyncio.gather(*(dispatcher.dispatch(n, ["hook"]) for n in notes))
    finally:
        await s.aclose()
        receiver.stop()
    assert all(o.delivered and o.result and o.result.status == 200 for [o] in outcomes)
    assert all(o.result and o.result.attempts > 1 for [o] in outcomes)  # all met the outage
    assert rounds >= 12
    keys = [r.headers["idempotency-key"] for r in receiver.requests]
    assert sorted(keys) == sorted(n.idempotency_key for n in notes)  # each exactly once
    assert receiver.max_in_flight <= 2


async def test_concurrency_is_limited_per_destination(receiver: Receiver) -> None:
    receiver.script = [Reply(200, delay_seconds=0.05)] * 6
    s = http_sender(receiver.url, FakeSleep(), max_concurrency=1)
    notes = [Notification(alert=make_alert(incident=f"c{i}")) for i in range(6)]
    await asyncio.gather(*(s.send(n) for n in notes))
    await s.aclose()
    assert len(receiver.requests) == 6 and receiver.max_in_flight == 1


async def test_rate_limit_spaces_requests_by_the_bucket(
    receiver: Receiver, note: Notification
) -> None:
    t = [0.0]
    sleep = FakeSleep()

    async def advancing_sleep(seconds: float) -> None:
        t[0] += seconds
        await sleep(seconds)

    bucket = TokenBucket(rate=1.0, burst=1, clock=lambda: t[0], sleep=advancing_sleep)
    s = http_sender(receiver.url, sleep, rate_limit=bucket)
    for i in range(3):
        await s.send(Notification(alert=make_alert(incident=f"r{i}")))
    await s.aclose()
    assert t[0] == pytest.approx(2.0)  # 3 messages at 1/s with a burst of 1
    assert len(receiver.requests) == 3


async def test_no_secret_in_logs_or_errors(
    receiver: Receiver, note: Notification, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    receiver.script = [Reply(500), Reply(404)]
    s = http_sender(receiver.url, FakeSleep())
    with pytest.raises(DeliveryError) as info:
        await s.send(note)
    await s.aclose()
    assert any("HTTP Request" in r.getMessage() for r in caplog.records)  # httpx did log
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "SECRETPATH" not in logged
    assert "SECRETPATH" not in str(info.value) and "SECRETPATH" not in repr(s)
    assert receiver.requests[0].path == "/hooks/T0SECRETPATH"  # the real URL was used


async def test_mock_transport_also_works(note: Notification) -> None:
    seen: list[httpx.Request] = []

    def handle(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(202)

    s = HttpSender("https://hooks.example.test/x/y?token=1", transport=httpx.MockTransport(handle))
    assert (await s.send(note)).status == 202
    await s.aclose()
    assert str(seen[0].url) == "https://hooks.example.test/x/y?token=1"


async def test_console_and_file_sinks_write_json_lines(note: Notification, tmp_path) -> None:
    import io

    out = io.StringIO()
    path = tmp_path / "sub" / "alerts.ndjson"
    senders = {"console": ConsoleSender(stream=out), "file": FileSender(path)}
    outcomes = await Dispatcher(senders).dispatch(note, ["console", "file", "nowhere"])
    assert [o.delivered for o in outcomes] == [True, True, False]
    assert json.loads(out.getvalue())["alert"]["alert_id"] == note.alert.alert_id
    assert json.loads(path.read_text())["kind"] == "trigger"
    assert outcomes[2].error is not None and "no such destination" in str(outcomes[2].error)
