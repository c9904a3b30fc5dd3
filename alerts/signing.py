"""Standard Webhooks signatures (https://www.standardwebhooks.com/). Pure.

The signature is HMAC-SHA256 over ``"{webhook-id}.{webhook-timestamp}.{body}"`` with the
base64-decoded ``whsec_`` secret, sent as ``v1,<base64>``. To rotate a secret, sign with the
old and the new one: the header then holds both signatures, space-separated.

>>> secret = "whsec_" + "c2VjcmV0LWtleS1mb3ItZG9jcw=="
>>> h = signature_headers("msg_1", 1700000000, b'{"a":1}', [decode_secret(secret)])
>>> h["webhook-id"], h["webhook-timestamp"], h["webhook-signature"][:3]
('msg_1', '1700000000', 'v1,')
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
from collections.abc import Mapping, Sequence

__all__ = ["decode_secret", "sign", "signature_headers", "verify"]

_PREFIX = "whsec_"


def decode_secret(secret: str) -> bytes:
    """The key bytes of a ``whsec_<base64>`` secret. Errors never echo the secret."""
    raw = secret.strip()
    raw = raw.removeprefix(_PREFIX)
    try:
        key = base64.b64decode(raw, validate=True)
    except (binascii.Error, ValueError):
        raise ValueError("a signing secret must be 'whsec_' followed by base64") from None
    if len(key) < 16:
        raise ValueError("a signing secret must hold at least 16 bytes")
    return key


def sign(msg_id: str, timestamp: int, body: bytes, key: bytes) -> str:
    """One ``v1,<base64>`` signature."""
    mac = hmac.new(key, f"{msg_id}.{timestamp}.".encode() + body, hashlib.sha256)
    return "v1," + base64.b64encode(mac.digest()).decode()


def signature_headers(
    msg_id: str, timestamp: int, body: bytes, keys: Sequence[bytes]
) -> dict[str, str]:
    """The three ``webhook-*`` headers, signed with every key (none: no signature header)."""
    headers = {"webhook-id": msg_id, "webhook-timestamp": str(timestamp)}
    if keys:
        headers["webhook-signature"] = " ".join(sign(msg_id, timestamp, body, k) for k in keys)
    return headers


def verify(headers: Mapping[str, str], body: bytes, key: bytes) -> bool:
    """True when one of the ``webhook-signature`` signatures matches (what a receiver does).

    >>> h = signature_headers("msg_1", 1772442000, b"{}", [b"k" * 16])
    >>> verify(h, b"{}", b"k" * 16), verify(h, b"{ }", b"k" * 16)
    (True, False)
    """
    low = {k.lower(): v for k, v in headers.items()}
    try:
        expected = sign(low["webhook-id"], int(low["webhook-timestamp"]), body, key)
    except (KeyError, ValueError):
        return False
    return any(hmac.compare_digest(expected, s) for s in low.get("webhook-signature", "").split())
