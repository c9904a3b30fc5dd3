"""No Docker engine runs here: check the compose file's and Dockerfile's structure instead."""

from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[1]


def compose() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())  # type: ignore[no-any-return]


def test_services_and_images() -> None:
    services = compose()["services"]
    assert set(services) == {"kafka", "worker", "webhook-sink"}
    assert services["kafka"]["image"].startswith("apache/kafka:")
    assert services["worker"]["build"] == "." and services["webhook-sink"]["build"] == "."


def test_kafka_runs_in_kraft_mode_with_matching_listeners() -> None:
    env = compose()["services"]["kafka"]["environment"]
    assert set(env["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}
    assert "ZOOKEEPER" not in " ".join(env).upper()
    listeners = {x.split("://")[0] for x in env["KAFKA_LISTENERS"].split(",")}
    protocol_map = {x.split(":")[0] for x in env["KAFKA_LISTENER_SECURITY_PROTOCOL_MAP"].split(",")}
    assert listeners == protocol_map
    assert env["KAFKA_CONTROLLER_LISTENER_NAMES"] in listeners
    assert env["KAFKA_CONTROLLER_QUORUM_VOTERS"].startswith(f"{env['KAFKA_NODE_ID']}@kafka:")
    assert int(env["KAFKA_MESSAGE_MAX_BYTES"]) > 1024 * 1024  # oversized events reach the DLQ


def test_worker_points_at_kafka_and_sink_and_waits_for_them() -> None:
    services = compose()["services"]
    worker = services["worker"]
    env = worker["environment"]
    internal = services["kafka"]["environment"]["KAFKA_ADVERTISED_LISTENERS"]
    assert f"//{env['ACCESSGUARD_BOOTSTRAP_SERVERS']}" in internal
    sink_port = services["webhook-sink"]["ports"][0].split(":")[1]
    assert env["ACCESSGUARD_WEBHOOK_URL"] == f"http://webhook-sink:{sink_port}/hook"
    assert worker["depends_on"] == {"kafka": {"condition": "service_healthy"},
                                    "webhook-sink": {"condition": "service_healthy"}}
    port = env["ACCESSGUARD_WEB_PORT"]
    assert f"127.0.0.1:{port}/ready" in worker["healthcheck"]["test"][-1]
    assert f"{port}:{port}" in worker["ports"] and env["ACCESSGUARD_WEB_HOST"] == "0.0.0.0"


def test_every_service_has_a_health_check() -> None:
    for name, svc in compose()["services"].items():
        assert svc["healthcheck"]["test"][0] in {"CMD", "CMD-SHELL"}, name


def test_no_secrets_in_the_compose_file() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    code = [ln.split("#")[0].lower() for ln in text.splitlines()]
    for word in ("password", "secret", "token", "api_key", "hooks.slack.com", "routing_key"):
        assert not any(word in ln for ln in code), word


def test_dockerfile_installs_the_project_and_runs_the_worker() -> None:
    text = (ROOT / "Dockerfile").read_text()
    assert text.startswith("# ") and "FROM python:3.11" in text
    assert "pip install ." in text and 'ENTRYPOINT ["accessguard"]' in text
    assert "USER accessguard" in text
