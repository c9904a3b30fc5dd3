"""Ed25519 keys for sealing: generate, load (PEM or base64 of the raw 32 bytes), fingerprint.

Where a key comes from (a file, an environment variable) is decided at the edge (the CLI or the
worker's settings); the writer and the verifier take key objects.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
from collections.abc import Mapping
from pathlib import Path

from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from pipeline.archive.errors import ArchiveKeyError

__all__ = [
    "SIGNING_KEY_ENV",
    "Ed25519PrivateKey",
    "Ed25519PublicKey",
    "fingerprint",
    "generate_key_pair",
    "load_private_key",
    "load_public_key",
    "public_raw",
    "read_key_file",
    "signing_key",
]

#: Environment variable the CLI and the worker read the signing key from (PEM or base64).
SIGNING_KEY_ENV = "ACCESSGUARD_ARCHIVE_SIGNING_KEY"


def public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def fingerprint(key: Ed25519PublicKey) -> str:
    """``sha256:`` + hex SHA-256 of the raw public key."""
    return "sha256:" + hashlib.sha256(public_raw(key)).hexdigest()


def load_private_key(text: str | bytes, where: str = "signing key") -> Ed25519PrivateKey:
    """A private key from PKCS#8 PEM or from base64 of the raw 32-byte seed."""
    data = text.encode() if isinstance(text, str) else text
    data = data.strip()
    if not data:
        raise ArchiveKeyError(f"{where} is empty")
    try:
        if data.startswith(b"-----BEGIN"):
            key = serialization.load_pem_private_key(data, password=None)
        else:
            key = Ed25519PrivateKey.from_private_bytes(base64.b64decode(data, validate=True))
    except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm) as exc:
        raise ArchiveKeyError(f"{where} is not an Ed25519 private key (PEM or base64)") from exc
    if not isinstance(key, Ed25519PrivateKey):
        raise ArchiveKeyError(f"{where} is not an Ed25519 key")
    return key


def load_public_key(text: str | bytes, where: str = "public key") -> Ed25519PublicKey:
    """A public key from SubjectPublicKeyInfo PEM or from base64 of the raw 32 bytes."""
    data = (text.encode() if isinstance(text, str) else text).strip()
    try:
        if data.startswith(b"-----BEGIN"):
            key = serialization.load_pem_public_key(data)
        else:
            key = Ed25519PublicKey.from_public_bytes(base64.b64decode(data, validate=True))
    except (ValueError, TypeError, binascii.Error, UnsupportedAlgorithm) as exc:
        raise ArchiveKeyError(f"{where} is not an Ed25519 public key (PEM or base64)") from exc
    if not isinstance(key, Ed25519PublicKey):
        raise ArchiveKeyError(f"{where} is not an Ed25519 key")
    return key


def signing_key(path: str | Path | None, environ: Mapping[str, str]) -> Ed25519PrivateKey:
    """The signing key from ``path`` if given, else from ``environ[SIGNING_KEY_ENV]``.

    The caller passes the environment (``os.environ`` at the edge), so nothing here reads it.
    """
    if path:
        key = read_key_file(path, private=True)
        assert isinstance(key, Ed25519PrivateKey)
        return key
    value = environ.get(SIGNING_KEY_ENV)
    if not value:
        raise ArchiveKeyError(f"no signing key: pass --key FILE or set {SIGNING_KEY_ENV}")
    return load_private_key(value, SIGNING_KEY_ENV)


def read_key_file(path: str | Path, private: bool = True) -> Ed25519PrivateKey | Ed25519PublicKey:
    try:
        data = Path(path).read_bytes()
    except OSError as exc:
        raise ArchiveKeyError(f"cannot read key file {path}: {exc.strerror}") from exc
    return load_private_key(data, str(path)) if private else load_public_key(data, str(path))


def generate_key_pair(prefix: str | Path) -> tuple[Path, Path, str]:
    """Write ``PREFIX.key`` (PKCS#8 PEM, mode 0600) and ``PREFIX.pub``; refuse to overwrite.

    Returns both paths and the fingerprint.
    """
    key = Ed25519PrivateKey.generate()
    priv_path, pub_path = Path(f"{prefix}.key"), Path(f"{prefix}.pub")
    for path in (priv_path, pub_path):
        if path.exists():
            raise ArchiveKeyError(f"{path} already exists; not overwriting a key")
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    pub = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    try:
        fd = os.open(priv_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as fh:
            fh.write(pem)
        pub_path.write_bytes(pub)
    except OSError as exc:
        raise ArchiveKeyError(f"cannot write key pair {prefix}: {exc.strerror}") from exc
    return priv_path, pub_path, fingerprint(key.public_key())
