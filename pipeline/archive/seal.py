"""Seals: the signed digest file that closes a segment.

A seal is one canonical JSON object (see :func:`pipeline.archive.records.canonical`) plus
``\\n``::

    version, segment, index         which segment this seals
    sha256, bytes, records          the segment file's SHA-256, size and line count
    first_seq, last_seq             seq range (null when the segment has no records)
    first_time, last_time           times of the first and last record
    min_time, max_time              time range of all records (search skips segments by these)
    first_prev, last_hash           the record chain entering and leaving the segment
    prev_seal                       SHA-256 of the previous seal file's bytes (64 zeros first)
    recovered, quarantine           set when the segment was closed by crash recovery
    sealed_at                       write time of the seal
    public_key, key_fingerprint     raw Ed25519 public key (base64) and ``sha256:`` of it
    signature                       Ed25519 over the canonical bytes of every other field

The signature covers the seal without ``signature``; the next seal's ``prev_seal`` covers the
whole file, signature included, so seals form their own chain.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from typing import Any

from cryptography.exceptions import InvalidSignature

from pipeline.archive.errors import ArchiveKeyError
from pipeline.archive.keys import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
    fingerprint,
    load_public_key,
    public_raw,
)
from pipeline.archive.records import canonical

__all__ = ["SEAL_FIELDS", "parse_seal", "seal_digest", "seal_key", "sign_seal", "signature_ok"]

SEAL_FIELDS = frozenset(
    {
        "version",
        "segment",
        "index",
        "sha256",
        "bytes",
        "records",
        "first_seq",
        "last_seq",
        "first_time",
        "last_time",
        "min_time",
        "max_time",
        "first_prev",
        "last_hash",
        "prev_seal",
        "recovered",
        "quarantine",
        "sealed_at",
        "public_key",
        "key_fingerprint",
        "signature",
    }
)


_INT, _STR, _OPT = (int,), (str,), (str, type(None))
_TYPES: dict[str, tuple[type, ...]] = {
    "version": _INT,
    "segment": _STR,
    "index": _INT,
    "sha256": _STR,
    "bytes": _INT,
    "records": _INT,
    "first_seq": _INT,
    "last_seq": _INT,
    "first_time": _OPT,
    "last_time": _OPT,
    "min_time": _OPT,
    "max_time": _OPT,
    "first_prev": _STR,
    "last_hash": _STR,
    "prev_seal": _STR,
    "recovered": (bool,),
    "quarantine": (dict, type(None)),
    "sealed_at": _STR,
    "public_key": _STR,
    "key_fingerprint": _STR,
    "signature": _STR,
}


def sign_seal(body: dict[str, Any], key: Ed25519PrivateKey) -> bytes:
    """The seal file's bytes: ``body`` plus key fields and signature."""
    pub = key.public_key()
    content = {
        **body,
        "public_key": base64.b64encode(public_raw(pub)).decode("ascii"),
        "key_fingerprint": fingerprint(pub),
    }
    signature = key.sign(canonical(content))
    return canonical({**content, "signature": base64.b64encode(signature).decode("ascii")}) + b"\n"


def seal_digest(raw: bytes) -> str:
    """What the next seal's ``prev_seal`` must be."""
    return hashlib.sha256(raw).hexdigest()


def parse_seal(raw: bytes) -> tuple[dict[str, Any] | None, str | None]:
    """``(seal, None)`` or ``(None, reason)``; checks shape, not the signature."""
    try:
        seal = json.loads(raw)
    except ValueError:
        return None, "not valid JSON"
    if not isinstance(seal, dict):
        return None, "not a JSON object"
    if set(seal) != SEAL_FIELDS:
        missing, extra = sorted(SEAL_FIELDS - set(seal)), sorted(set(seal) - SEAL_FIELDS)
        return None, f"fields missing {missing} or unexpected {extra}"
    if seal["version"] != 1:
        return None, f"unknown seal version {seal['version']!r}"
    for name, kinds in _TYPES.items():
        if type(seal[name]) not in kinds:
            return None, f"field {name} has the wrong type"
    quarantine = seal["quarantine"]
    if quarantine is not None and (
        not isinstance(quarantine, dict)
        or type(quarantine.get("bytes")) is not int
        or not all(isinstance(quarantine.get(k), str) for k in ("name", "sha256", "reason"))
    ):
        return None, "field quarantine is malformed"
    if canonical(seal) + b"\n" != raw:
        return None, "not in canonical form (bytes were changed)"
    return seal, None


def seal_key(seal: dict[str, Any]) -> Ed25519PublicKey | None:
    """The public key embedded in a seal, if it is a key and matches the seal's fingerprint."""
    try:
        key = load_public_key(str(seal["public_key"]))
    except ArchiveKeyError:
        return None
    return key if fingerprint(key) == seal["key_fingerprint"] else None


def signature_ok(seal: dict[str, Any], key: Ed25519PublicKey) -> bool:
    body = {k: v for k, v in seal.items() if k != "signature"}
    try:
        signature = base64.b64decode(str(seal["signature"]), validate=True)
        key.verify(signature, canonical(body))
    except (InvalidSignature, binascii.Error, ValueError, TypeError):
        return False
    return True
