"""``accessguard archive``: keygen, write (offline backfill), verify, search.

The signing key comes from ``--key FILE`` or the ``ACCESSGUARD_ARCHIVE_SIGNING_KEY``
environment variable (PEM or base64 of the raw 32-byte seed); nothing else reads it.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

from detectors.errors import EventError
from detectors.events import parse_event
from pipeline.archive import (
    SIGNING_KEY_ENV,
    ArchiveWriter,
    LocalDirectoryBackend,
    SearchQuery,
    dead_letter_data,
    event_data,
    format_time,
    generate_key_pair,
    search,
    verify,
)
from pipeline.archive.keys import Ed25519PublicKey, read_key_file, signing_key
from pipeline.archive.writer import DEFAULT_MAX_SEGMENT_BYTES, DEFAULT_MAX_SEGMENT_SECONDS, Item
from pipeline.errors import UsageError

_BATCH = 2000


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("archive", help="tamper-evident archive: keygen, write, verify, search")
    cmds = p.add_subparsers(dest="archive_command", required=True, metavar="ACTION")

    k = cmds.add_parser("keygen", help="make an Ed25519 key pair for sealing")
    k.add_argument(
        "--out",
        required=True,
        metavar="PREFIX",
        help="writes PREFIX.key (private, mode 0600) and PREFIX.pub",
    )
    k.set_defaults(run=run_keygen)

    w = cmds.add_parser("write", help="archive an NDJSON file of access events (offline)")
    w.add_argument("--from", dest="source", required=True, metavar="FILE")
    w.add_argument("--dir", required=True, metavar="DIR", help="archive directory (created)")
    w.add_argument("--key", metavar="FILE", help=f"signing key; default ${SIGNING_KEY_ENV}")
    w.add_argument("--segment-bytes", type=int, default=DEFAULT_MAX_SEGMENT_BYTES, metavar="N")
    w.add_argument(
        "--segment-seconds", type=float, default=DEFAULT_MAX_SEGMENT_SECONDS, metavar="S"
    )
    w.set_defaults(run=run_write)

    v = cmds.add_parser("verify", help="check hashes, chain, seals and signatures")
    v.add_argument("dir", metavar="DIR")
    v.add_argument("--public-key", metavar="FILE", help="pin the key the seals must be signed with")
    v.set_defaults(run=run_verify)

    s = cmds.add_parser("search", help="stream matching records as NDJSON")
    s.add_argument("dir", metavar="DIR")
    s.add_argument("--user")
    s.add_argument("--action")
    s.add_argument("--detector")
    s.add_argument("--kind")
    s.add_argument("--since", metavar="TIME", help="RFC 3339 with offset; inclusive")
    s.add_argument("--until", metavar="TIME", help="RFC 3339 with offset; exclusive")
    s.set_defaults(run=run_search)


def run_keygen(args: argparse.Namespace) -> int:
    priv, pub, fp = generate_key_pair(args.out)
    print(f"wrote {priv} (private, keep secret) and {pub}; fingerprint {fp}")
    return 0


def run_write(args: argparse.Namespace) -> int:
    key = signing_key(args.key, os.environ)
    source = Path(args.source)
    if not source.is_file():
        raise UsageError(f"{source}: no such file")
    counts = {"event": 0, "dead_letter": 0}
    with ArchiveWriter.open_dir(
        args.dir,
        key,
        max_segment_bytes=args.segment_bytes,
        max_segment_seconds=args.segment_seconds,
    ) as writer:
        first = writer.seq + 1
        for batch in _batches(source, counts):
            writer.append_many(batch)
        last = writer.seq
    for name in writer.recovered:
        print(f"recovered interrupted segment {name} (see its seal)")
    print(
        f"archived {counts['event']} event(s) and {counts['dead_letter']} dead letter(s) from "
        f"{source} into {args.dir}: seq {first}..{last}"
    )
    return 0


def _batches(source: Path, counts: dict[str, int]) -> Iterator[list[Item]]:
    batch: list[Item] = []
    try:
        fh = source.open("rb")
    except OSError as exc:
        raise UsageError(f"cannot read {source}: {exc.strerror}") from exc
    with fh:
        for lineno, raw in enumerate(fh, 1):
            line = raw.rstrip(b"\r\n")
            if not line.strip():
                continue
            try:
                event = parse_event(line)
                batch.append(("event", event_data(event), event.timestamp))
                counts["event"] += 1
            except EventError as exc:
                data = dead_letter_data(line, exc.reason, source=source.name, line=lineno)
                batch.append(("dead_letter", data, datetime.now(UTC)))
                counts["dead_letter"] += 1
            if len(batch) >= _BATCH:
                yield batch
                batch = []
    if batch:
        yield batch


def run_verify(args: argparse.Namespace) -> int:
    pinned: Ed25519PublicKey | None = None
    if args.public_key:
        key = read_key_file(args.public_key, private=False)
        assert isinstance(key, Ed25519PublicKey)
        pinned = key
    report = verify(LocalDirectoryBackend(args.dir), pinned)
    for problem in report.problems:
        print(problem)
    for note in report.notes:
        print(f"note: {note}")
    if report.ok:
        print(f"archive {args.dir} intact: {report.summary()}")
        return 0
    print(
        f"accessguard: archive {args.dir} failed verification: {len(report.problems)} problem(s)",
        file=sys.stderr,
    )
    return 1


def run_search(args: argparse.Namespace) -> int:
    query = SearchQuery(
        user=args.user,
        action=args.action,
        detector=args.detector,
        kind=args.kind,
        since=_time_arg("--since", args.since),
        until=_time_arg("--until", args.until),
    )
    matched = 0
    for line in search(LocalDirectoryBackend(args.dir), query):
        sys.stdout.write(line.decode("ascii"))
        matched += 1
    print(f"{matched} record(s) matched", file=sys.stderr)
    return 0


def _time_arg(flag: str, value: str | None) -> str | None:
    if value is None:
        return None
    try:
        when = datetime.fromisoformat(value)
    except ValueError:
        raise UsageError(f"{flag} {value!r} is not an RFC 3339 time") from None
    if when.tzinfo is None:
        raise UsageError(f"{flag} {value!r} needs a UTC offset, e.g. 2026-03-02T09:00:00Z")
    return format_time(when)
