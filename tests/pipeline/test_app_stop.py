"""App.before_stop: hooks run before Faust's own stop; a failed or hung one neither stops
the others nor hangs the stop (its events are redone after a restart)."""

import asyncio

import pytest

from pipeline import app as app_module
from pipeline.app import App


def make_app() -> App:
    return App("test-stop", broker="kafka://127.0.0.1:1", store="memory://", web_enabled=False)


def test_hooks_run_in_order() -> None:
    app = make_app()
    ran: list[str] = []

    async def first() -> None:
        ran.append("first")

    async def second() -> None:
        ran.append("second")

    app.before_stop += [first, second]
    asyncio.run(app.on_stop())
    assert ran == ["first", "second"]


@pytest.mark.parametrize("failure", ["raises", "hangs"])
def test_a_failed_flush_does_not_stop_the_others_nor_hang_the_stop(
    failure: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(app_module, "BEFORE_STOP_TIMEOUT", 0.2)
    app = make_app()
    ran: list[str] = []

    async def broken() -> None:
        if failure == "raises":
            raise ConnectionError("broker gone")
        await asyncio.sleep(60)

    async def after() -> None:
        ran.append("after")

    app.before_stop += [broken, after]
    asyncio.run(asyncio.wait_for(app.on_stop(), 10))
    assert ran == ["after"]


def test_faust_does_not_wait_for_events_no_agent_has_taken_yet() -> None:
    from pipeline.app import create_app
    from pipeline.settings import WorkerSettings

    app = create_app(WorkerSettings.model_validate({"bootstrap_servers": "127.0.0.1:1"}))
    assert app.conf.stream_wait_empty is False
