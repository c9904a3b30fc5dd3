"""Worker settings: environment variables prefixed ``ACCESSGUARD_`` (or CLI flags).

Secrets (the webhook URL) are ``SecretStr``: they print as ``**********``.
"""

from __future__ import annotations

import re
import socket
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from pipeline.kafka import KafkaSecurity

__all__ = ["WorkerSettings", "parse_bootstrap"]

_HOSTPORT = re.compile(r"^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")


def parse_bootstrap(value: str) -> list[str]:
    """Validate ``host:port[,host:port...]``; raise ValueError naming the bad part."""
    parts = [p.strip() for p in value.split(",") if p.strip()]
    if not parts:
        raise ValueError("no bootstrap servers given (expected host:port[,host:port])")
    for part in parts:
        m = _HOSTPORT.match(part.removeprefix("kafka://"))
        if not m or not 0 < int(m.group(2)) < 65536:
            raise ValueError(f"{part!r} is not a host:port broker address")
    return [p.removeprefix("kafka://") for p in parts]


class WorkerSettings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ACCESSGUARD_", extra="ignore")

    bootstrap_servers: str = Field("127.0.0.1:9092", description="host:port[,host:port]")
    security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = "PLAINTEXT"
    sasl_mechanism: Literal["PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512"] = "PLAIN"
    sasl_username: str | None = None
    sasl_password: SecretStr | None = None
    ssl_cafile: Path | None = Field(None, description="CA bundle to trust the brokers with")
    ssl_certfile: Path | None = Field(None, description="client certificate (mutual TLS)")
    ssl_keyfile: Path | None = Field(None, description="client key (mutual TLS)")
    app_id: str = Field("accessguard", description="consumer group and table name prefix")
    config_path: Path | None = Field(None, description="detector config YAML; default: built-in")
    webhook_url: SecretStr | None = Field(None, description="where alerts are POSTed (secret)")
    partitions: int = Field(4, ge=1, le=1024, description="partitions of accessguard's topics")
    replication_factor: int = Field(1, ge=1, le=5)
    session_timeout_seconds: float = Field(10.0, gt=0)
    heartbeat_interval_seconds: float = Field(1.0, gt=0)
    batch_max_events: int = Field(
        1000, ge=1, description="most events per processing batch (a batch is what is ready)")
    max_future_seconds: float = Field(
        86400.0, gt=0, description="events further ahead of the worker's clock are dead-lettered")
    changelog_end_markers: bool = Field(
        False, description="work around the embedded broker's end offsets (see agents.py); "
        "real Kafka does not need it")
    fetch_max_wait_ms: int = Field(
        20, ge=1, le=1500, description="longest a consumer fetch waits for data (latency); "
        "lower means more fetch requests")
    gc_gen0_threshold: int = Field(
        50_000, ge=0, description="allocations between young-generation garbage collections "
        "(Python's default: 700; 0 keeps it); startup objects are frozen either way")
    state_flush_seconds: float = Field(
        1.0, gt=0, le=60, description="how often changed key state is written to the changelog "
        "(and the events it covers acked): fewer writes vs more events redone after a crash")
    web_port: int = Field(6066, ge=0, le=65535,
                          description="/metrics, /health, /ready; 0 turns the server off")
    web_host: str = Field("127.0.0.1", description="address the web server binds")
    config_reload_seconds: float = Field(
        5.0, ge=0, description="how often the config file is checked for changes; 0: never")
    model_checkpoint_seconds: float = Field(
        60.0, ge=0, description="how often shared online models are checkpointed; 0: only at stop")
    data_dir: Path = Field(Path(".accessguard"), description="worker scratch directory")
    log_level: str = Field("info")
    archive_dir: Path | None = Field(None, description="tamper-evident archive root; unset: off")
    archive_key_file: Path | None = Field(
        None, description="Ed25519 signing key file (else ACCESSGUARD_ARCHIVE_SIGNING_KEY)")
    archive_segment_bytes: int = Field(64 * 1024 * 1024, gt=0)
    archive_segment_seconds: float = Field(3600.0, gt=0)
    worker_name: str = Field(default_factory=socket.gethostname,
                             description="unique per worker process: names its archive chain")
    delivery_attempts: int = Field(6, ge=1)
    delivery_max_backoff_seconds: float = Field(30.0, gt=0)

    def kafka_security(self) -> KafkaSecurity:
        return KafkaSecurity(
            protocol=self.security_protocol, sasl_mechanism=self.sasl_mechanism,
            username=self.sasl_username,
            password=self.sasl_password.get_secret_value() if self.sasl_password else None,
            cafile=str(self.ssl_cafile) if self.ssl_cafile else None,
            certfile=str(self.ssl_certfile) if self.ssl_certfile else None,
            keyfile=str(self.ssl_keyfile) if self.ssl_keyfile else None,
        )

    @field_validator("bootstrap_servers")
    @classmethod
    def _bootstrap(cls, value: str) -> str:
        return ",".join(parse_bootstrap(value))
