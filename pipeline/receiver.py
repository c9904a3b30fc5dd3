"""A small local webhook receiver: a real HTTP server on 127.0.0.1 for the demo and tests.

It records every POST (headers and body) and answers with scripted statuses (default 200),
so tests can make it fail, throttle or hang, and then recover.
"""

from __future__ import annotations

import json
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any

__all__ = ["Received", "WebhookReceiver"]


@dataclass(frozen=True)
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    status: int
    at: float = 0.0  # time.monotonic() when the request came in (system-wide on Linux)

    def json(self) -> Any:
        return json.loads(self.body)


class WebhookReceiver:
    """``with WebhookReceiver() as r: ...``; ``r.url`` to post to, ``r.received`` to inspect.

    ``script`` is a list of responses used in order before falling back to 200: an int status,
    or a tuple (status, headers dict), or ("hang", seconds) to delay the answer.
    """

    def __init__(self, port: int = 0, script: list[Any] | None = None, *,
                 host: str = "127.0.0.1", echo: bool = False) -> None:
        self._lock = threading.Condition()
        self._received: list[Received] = []
        self.script: list[Any] = list(script or [])
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                arrived = time.monotonic()
                length = int(self.headers.get("content-length", 0))
                body = self.rfile.read(length)
                status, headers = outer._next_response()
                if outer.echo:
                    print(body.decode(errors="replace"), flush=True)
                with outer._lock:
                    outer._received.append(Received(self.path, dict(self.headers), body, status,
                                                   arrived))
                    outer._lock.notify_all()
                self.send_response(status)
                for k, v in headers.items():
                    self.send_header(k, v)
                self.send_header("content-length", "0")
                self.end_headers()

            def do_GET(self) -> None:
                self.send_response(200 if self.path == "/health" else 404)
                self.send_header("content-length", "0")
                self.end_headers()

            def log_message(self, format: str, *args: Any) -> None:
                pass  # keep test and demo output clean

        self.echo = echo
        self._server = ThreadingHTTPServer((host, port), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def _next_response(self) -> tuple[int, dict[str, str]]:
        with self._lock:
            item = self.script.pop(0) if self.script else 200
        if isinstance(item, tuple) and item[0] == "hang":
            time.sleep(float(item[1]))
            return 200, {}
        if isinstance(item, tuple):
            return int(item[0]), dict(item[1])
        return int(item), {}

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    @property
    def received(self) -> list[Received]:
        with self._lock:
            return list(self._received)

    def accepted(self) -> list[Received]:
        return [r for r in self.received if r.status < 300]

    def wait_for(self, n: int, timeout_seconds: float) -> list[Received]:
        """Wait until ``n`` requests were accepted (2xx) or the timeout passes."""
        deadline = time.monotonic() + timeout_seconds
        with self._lock:
            while sum(r.status < 300 for r in self._received) < n:
                left = deadline - time.monotonic()
                if left <= 0:
                    break
                self._lock.wait(left)
        return self.accepted()

    def start(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> WebhookReceiver:
        return self.start()

    def __exit__(self, et: type[BaseException] | None, ev: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()


if __name__ == "__main__":  # the docker-compose webhook sink: print every alert it receives
    import argparse

    parser = argparse.ArgumentParser(description="print every webhook POST body (a sink)")
    parser.add_argument("--host", default="0.0.0.0")
    parser.add_argument("--port", type=int, default=8080)
    ns = parser.parse_args()
    sink = WebhookReceiver(ns.port, host=ns.host, echo=True)
    print(f"webhook sink listening on {ns.host}:{ns.port}", flush=True)
    try:
        sink._server.serve_forever()
    except KeyboardInterrupt:
        sink._server.server_close()
