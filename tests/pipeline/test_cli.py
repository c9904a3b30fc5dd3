"""Bad input to the CLI: one clear line on stderr, a non-zero exit, never a traceback."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.broker import free_port
from pipeline.cli import main


def run_cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "pipeline.cli", *args], input=stdin and
                          stdin.decode(), capture_output=True, text=True, timeout=60)


def assert_one_line_error(proc: subprocess.CompletedProcess[str], text: str) -> None:
    assert proc.returncode != 0
    assert "Traceback" not in proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and lines[0].startswith("accessguard: "), proc.stderr
    assert text in lines[0]


def test_produce_missing_file(tmp_path: Path) -> None:
    proc = run_cli("produce", str(tmp_path / "nope.ndjson"), "-b", "127.0.0.1:9092")
    assert_one_line_error(proc, "nope.ndjson: cannot read: No such file or directory")


@pytest.mark.parametrize("address", ["localhost", "host:port", "a:99999", ""])
def test_malformed_broker_address(tmp_path: Path, address: str) -> None:
    f = tmp_path / "e.ndjson"
    f.write_text("{}\n")
    proc = run_cli("produce", str(f), "-b", address)
    assert_one_line_error(proc, "bootstrap_servers:")


def test_unreachable_broker(tmp_path: Path) -> None:
    f = tmp_path / "e.ndjson"
    f.write_text('{"event_id":"1","timestamp":"2026-01-01T00:00:00Z","user":"u",'
                 '"action":"login","outcome":"success"}\n')
    port = free_port()
    proc = run_cli("produce", str(f), "-b", f"127.0.0.1:{port}")
    assert_one_line_error(proc, f"cannot reach Kafka at 127.0.0.1:{port}")


def test_worker_unreachable_broker_and_missing_config(tmp_path: Path) -> None:
    port = free_port()
    proc = run_cli("worker", "-b", f"127.0.0.1:{port}", "--data-dir", str(tmp_path))
    assert_one_line_error(proc, f"cannot reach Kafka at 127.0.0.1:{port}")
    proc = run_cli("worker", "-c", str(tmp_path / "missing.yaml"))
    assert_one_line_error(proc, "missing.yaml: no such config file")


def test_worker_invalid_config_lists_each_problem(tmp_path: Path) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("detectors:\n  failed_login_burst:\n    threshold: 0\n")
    proc = run_cli("worker", "-c", str(cfg), "-b", "127.0.0.1:1")
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"{cfg}:3: detectors.failed_login_burst.threshold" in proc.stderr


def test_schema_prints_the_event_schema(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["schema"]) == 0
    schema = json.loads(capsys.readouterr().out)
    assert schema["title"] == "AccessEvent v1" and "event_id" in schema["properties"]
