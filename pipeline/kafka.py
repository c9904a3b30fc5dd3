"""Thin helpers over aiokafka: reach a cluster, create accessguard's topics, produce."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import ssl
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from aiokafka import AIOKafkaProducer
from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, KafkaError, TopicAlreadyExistsError
from aiokafka.helpers import create_ssl_context

from pipeline.errors import BrokerError

__all__ = ["MAX_MESSAGE_BYTES", "KafkaSecurity", "ensure_topics", "make_producer"]

#: Kafka-level message limit for accessguard's topics and producers. Larger than the 1 MiB
#: event limit so an oversized event still reaches the worker and is dead-lettered, whole.
MAX_MESSAGE_BYTES = 8 * 1024 * 1024


@dataclass(frozen=True)
class KafkaSecurity:
    """How to authenticate to and encrypt traffic with the cluster (SASL and/or TLS).

    ``protocol`` is Kafka's ``security.protocol``: PLAINTEXT, SSL, SASL_PLAINTEXT or
    SASL_SSL. The password is given by the caller (from the environment), never logged.
    """

    protocol: str = "PLAINTEXT"
    sasl_mechanism: str = "PLAIN"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    cafile: str | None = None
    certfile: str | None = None
    keyfile: str | None = None

    def ssl_context(self) -> ssl.SSLContext | None:
        if "SSL" not in self.protocol:
            return None
        return create_ssl_context(cafile=self.cafile, certfile=self.certfile,
                                  keyfile=self.keyfile)

    def client_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for aiokafka clients."""
        kw: dict[str, Any] = {"security_protocol": self.protocol}
        if "SSL" in self.protocol:
            kw["ssl_context"] = self.ssl_context()
        if self.protocol.startswith("SASL"):
            kw.update(sasl_mechanism=self.sasl_mechanism, sasl_plain_username=self.username,
                      sasl_plain_password=self.password)
        return kw

    def faust_credentials(self) -> Any:
        """The same, as Faust's ``broker_credentials`` (None for PLAINTEXT)."""
        import faust

        if self.protocol.startswith("SASL"):
            return faust.SASLCredentials(username=self.username, password=self.password,
                                         mechanism=self.sasl_mechanism,
                                         ssl_context=self.ssl_context())
        if self.protocol == "SSL":
            return faust.SSLCredentials(self.ssl_context())
        return None


PLAINTEXT = KafkaSecurity()


@contextlib.contextmanager
def _quiet_client_logs() -> Iterator[None]:
    """aiokafka logs every failed connect; during a pre-flight the caller reports it once."""
    logger = logging.getLogger("aiokafka")
    before = logger.level
    logger.setLevel(logging.CRITICAL)
    try:
        yield
    finally:
        logger.setLevel(before)


async def ensure_topics(
    bootstrap: str, topics: Iterable[str], *, partitions: int, replication_factor: int = 1,
    timeout_seconds: float = 10.0, security: KafkaSecurity = PLAINTEXT,
) -> None:
    """Create the topics that do not exist yet. Faust does not create source topics, and a
    broker's auto-created default partition count would not match the tables' changelogs."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=5000,
                                **security.client_kwargs())
    try:
        with _quiet_client_logs():
            await asyncio.wait_for(admin.start(), timeout_seconds)
        existing = set(await admin.list_topics())
        wanted = [
            NewTopic(name=t, num_partitions=partitions, replication_factor=replication_factor,
                     topic_configs={"max.message.bytes": str(MAX_MESSAGE_BYTES)})
            for t in topics if t not in existing
        ]
        if wanted:
            with contextlib.suppress(TopicAlreadyExistsError):  # another worker raced us
                await admin.create_topics(wanted)
    except (TimeoutError, KafkaConnectionError) as exc:
        raise BrokerError(f"cannot reach Kafka at {bootstrap}") from exc
    except KafkaError as exc:
        raise BrokerError(f"Kafka at {bootstrap} refused to create topics: {exc}") from exc
    finally:
        await admin.close()


async def make_producer(bootstrap: str, *, timeout_seconds: float = 10.0,
                        security: KafkaSecurity = PLAINTEXT) -> AIOKafkaProducer:
    """A started producer (acks=all, no idempotence: the embedded broker rejects it)."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap, acks="all", enable_idempotence=False,
        linger_ms=5, max_batch_size=256 * 1024, request_timeout_ms=15000,
        max_request_size=MAX_MESSAGE_BYTES, **security.client_kwargs(),
    )
    try:
        with _quiet_client_logs():
            await asyncio.wait_for(producer.start(), timeout_seconds)
    except (TimeoutError, KafkaConnectionError) as exc:
        await producer.stop()
        raise BrokerError(f"cannot reach Kafka at {bootstrap}") from exc
    return producer
