"""Where archive files live. The writer and verifier talk only to :class:`ArchiveBackend`.

:class:`LocalDirectoryBackend` is the default. An S3 backend with Object Lock fits the same
interface: ``create_appendable`` spools the open segment locally (or in multipart parts),
``make_immutable`` uploads it with a retention period in compliance mode, ``put_immutable``
uploads seals and quarantine files the same way, and ``truncate`` only ever touches the local
spool of a segment that was never sealed.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol

from pipeline.archive.errors import ArchiveError

__all__ = ["READ_ONLY", "Appendable", "ArchiveBackend", "LocalDirectoryBackend"]

#: Mode of sealed segments, seals and quarantine files.
READ_ONLY = 0o444


class Appendable(Protocol):
    """The open segment: appended to, synced per batch, then closed and sealed."""

    def write(self, data: bytes) -> None: ...
    def sync(self) -> None: ...
    def close(self) -> None: ...


class ArchiveBackend(Protocol):
    """Storage for segments, seals and quarantine files, addressed by flat names."""

    def names(self) -> list[str]: ...
    def open_read(self, name: str) -> BinaryIO: ...
    def read_bytes(self, name: str) -> bytes: ...
    def size(self, name: str) -> int: ...
    def create_appendable(self, name: str) -> Appendable: ...
    def truncate(self, name: str, size: int) -> None: ...
    def make_immutable(self, name: str) -> None: ...
    def is_immutable(self, name: str) -> bool: ...
    def put_immutable(self, name: str, data: bytes) -> None: ...


class _LocalAppendable:
    def __init__(self, path: Path) -> None:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND, 0o644)
        except OSError as exc:
            raise ArchiveError(f"cannot create segment {path}: {exc.strerror}") from exc
        self._fh = os.fdopen(fd, "wb", buffering=1 << 20)

    def write(self, data: bytes) -> None:
        self._fh.write(data)

    def sync(self) -> None:
        self._fh.flush()
        os.fsync(self._fh.fileno())

    def close(self) -> None:
        self.sync()
        self._fh.close()


class LocalDirectoryBackend:
    """Files in one directory; write-once is enforced with mode 0444 and exclusive creation."""

    def __init__(self, root: str | Path, create: bool = False) -> None:
        self.root = Path(root)
        if create:
            try:
                self.root.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise ArchiveError(
                    f"cannot create archive directory {root}: {exc.strerror}"
                ) from exc
        if not self.root.is_dir():
            raise ArchiveError(f"archive directory {root} does not exist")

    def __repr__(self) -> str:
        return f"LocalDirectoryBackend({str(self.root)!r})"

    def names(self) -> list[str]:
        return sorted(p.name for p in self.root.iterdir() if p.is_file())

    def open_read(self, name: str) -> BinaryIO:
        try:
            return (self.root / name).open("rb")
        except OSError as exc:
            raise ArchiveError(f"cannot read {name}: {exc.strerror}") from exc

    def read_bytes(self, name: str) -> bytes:
        with self.open_read(name) as fh:
            return fh.read()

    def size(self, name: str) -> int:
        return (self.root / name).stat().st_size

    def create_appendable(self, name: str) -> Appendable:
        return _LocalAppendable(self.root / name)

    def truncate(self, name: str, size: int) -> None:
        path = self.root / name
        if not path.stat().st_mode & stat.S_IWUSR:
            raise ArchiveError(f"{name} is read-only (sealed); refusing to truncate it")
        with path.open("r+b") as fh:
            fh.truncate(size)
            fh.flush()
            os.fsync(fh.fileno())

    def make_immutable(self, name: str) -> None:
        os.chmod(self.root / name, READ_ONLY)

    def is_immutable(self, name: str) -> bool:
        return not (self.root / name).stat().st_mode & (stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH)

    def put_immutable(self, name: str, data: bytes) -> None:
        """Write via a temporary file and an atomic rename, so a crash leaves all or nothing."""
        final, tmp = self.root / name, self.root / f".{name}.tmp"
        if final.exists():
            raise ArchiveError(f"{name} already exists; archive files are written once")
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        with tmp.open("wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, READ_ONLY)
        os.replace(tmp, final)
        self._sync_dir()

    def _sync_dir(self) -> None:
        fd = os.open(self.root, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)

    def iter_lines(self, name: str) -> Iterator[bytes]:
        with self.open_read(name) as fh:
            yield from fh
