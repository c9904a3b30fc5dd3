"""Pure helpers for what the agents read and write: message splitting, dead-letter headers,
per-key state encoding. Kept apart from Faust so they are tested without a broker.

>>> split_records(b'{"a":1}\\n\\n{"b":2}\\n')
[b'{"a":1}', b'{"b":2}']
"""

from __future__ import annotations

import json
from typing import Any

from detectors.events import MAX_EVENT_BYTES

__all__ = ["decode_state", "dlq_headers", "encode_state", "split_records"]


def split_records(value: bytes | None) -> list[bytes]:
    """One Kafka message may carry several NDJSON events (producers batching); blank lines
    are ignored. An oversized message is kept whole so it is dead-lettered as one."""
    if not value:
        return [value or b""]
    if len(value) > MAX_EVENT_BYTES or b"\n" not in value.strip():
        return [value]
    return [line for line in value.split(b"\n") if line.strip()]


def dlq_headers(reason: str, *, topic: str, partition: int, offset: int,
                line: int | None = None) -> list[tuple[str, bytes]]:
    """Headers of a dead-lettered record; the value stays the original bytes."""
    headers = [
        ("accessguard-error", reason.encode()[:4000]),
        ("accessguard-source-topic", topic.encode()),
        ("accessguard-source-partition", str(partition).encode()),
        ("accessguard-source-offset", str(offset).encode()),
    ]
    if line is not None:
        headers.append(("accessguard-source-line", str(line).encode()))
    return headers


def encode_state(state: dict[str, Any]) -> bytes:
    return json.dumps(state, separators=(",", ":")).encode()


def decode_state(raw: bytes | None) -> dict[str, Any] | None:
    return None if raw is None else json.loads(raw)
