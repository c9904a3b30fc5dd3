"""Tamper-evident archive of what accessguard saw and said.

Records (events, dead letters, alerts, deliveries, silences, config changes) are NDJSON lines
chained by SHA-256 (:mod:`.records`) in segment files rotated by size and age
(:mod:`.layout`); each closed segment gets an Ed25519-signed seal chained to the previous
seal (:mod:`.seal`). :class:`ArchiveWriter` writes, :func:`verify` checks, :func:`search`
streams matching records. Storage sits behind :class:`ArchiveBackend`.
"""

from pipeline.archive.backend import ArchiveBackend, LocalDirectoryBackend
from pipeline.archive.errors import ArchiveError, ArchiveKeyError
from pipeline.archive.keys import (
    SIGNING_KEY_ENV,
    fingerprint,
    generate_key_pair,
    load_private_key,
    load_public_key,
    read_key_file,
    signing_key,
)
from pipeline.archive.records import (
    KINDS,
    Record,
    alert_data,
    dead_letter_data,
    event_data,
    format_time,
)
from pipeline.archive.search import SearchQuery, search
from pipeline.archive.verify import VerifyReport, verify
from pipeline.archive.writer import ArchiveWriter

__all__ = [
    "KINDS",
    "SIGNING_KEY_ENV",
    "ArchiveBackend",
    "ArchiveError",
    "ArchiveKeyError",
    "ArchiveWriter",
    "LocalDirectoryBackend",
    "Record",
    "SearchQuery",
    "VerifyReport",
    "alert_data",
    "dead_letter_data",
    "event_data",
    "fingerprint",
    "format_time",
    "generate_key_pair",
    "load_private_key",
    "load_public_key",
    "read_key_file",
    "search",
    "signing_key",
    "verify",
]
