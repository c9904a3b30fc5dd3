"""Archive write throughput next to baselines measured in the same run.

    python benchmarks/archive_write.py [--records N] [--batch B]

Prints records/s for:
* baseline: ``json.dumps`` of the same records + one file write and one fsync per batch
  (what an unchained NDJSON log costs);
* archive: ``ArchiveWriter.append_many`` per batch (canonical JSON, SHA-256 chain, fsync per
  batch, size rotation with Ed25519-signed seals);
* ingest: ``parse_event`` on the same events' JSON (the pipeline's own per-event validation
  cost, for scale: the worker cannot go faster than this);
* verify: ``verify`` over the archive just written.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from detectors.events import AccessEvent, parse_event
from detectors.scenario import ScenarioSpec, generate
from pipeline.archive import ArchiveWriter, LocalDirectoryBackend, event_data, verify
from pipeline.archive.keys import Ed25519PrivateKey


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--segment-bytes", type=int, default=16 * 1024 * 1024)
    args = parser.parse_args()

    events: list[AccessEvent] = []
    spec = ScenarioSpec(users=200, hours=8.0, seed=1)
    while len(events) < args.records:
        events.extend(ev for ev, _ in generate(spec))
        spec = ScenarioSpec(users=200, hours=8.0, seed=spec.seed + 1)
    events = events[: args.records]
    items = [("event", event_data(ev), ev.timestamp) for ev in events]
    raws = [ev.to_json() for ev in events]
    n, b = len(items), args.batch
    line_bytes = sum(len(json.dumps(d)) for _, d, _ in items) / n
    print(f"{n} event records, ~{line_bytes:.0f} bytes of event JSON each, batches of {b}")

    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "baseline.ndjson"
        t0 = time.perf_counter()
        with path.open("wb") as fh:
            for i in range(0, n, b):
                fh.write(b"".join(json.dumps(d).encode() + b"\n" for _, d, _ in items[i : i + b]))
                fh.flush()
                os.fsync(fh.fileno())
        base = n / (time.perf_counter() - t0)

        key = Ed25519PrivateKey.generate()
        t0 = time.perf_counter()
        with ArchiveWriter.open_dir(
            Path(tmp) / "archive", key, max_segment_bytes=args.segment_bytes
        ) as writer:
            for i in range(0, n, b):
                writer.append_many(items[i : i + b])
        archive = n / (time.perf_counter() - t0)
        segments = len(list((Path(tmp) / "archive").glob("*.seal.json")))

        t0 = time.perf_counter()
        report = verify(LocalDirectoryBackend(Path(tmp) / "archive"), key.public_key())
        verified = n / (time.perf_counter() - t0)
        assert report.ok, report.problems

    t0 = time.perf_counter()
    for raw in raws:
        parse_event(raw)
    ingest = n / (time.perf_counter() - t0)

    print(f"baseline  json.dumps + write + fsync/batch : {base:>10,.0f} records/s")
    print(
        f"archive   ArchiveWriter.append_many        : {archive:>10,.0f} records/s "
        f"({archive / base:.2f}x baseline, {segments} sealed segment(s))"
    )
    print(f"ingest    parse_event (pipeline's own work): {ingest:>10,.0f} events/s")
    print(f"verify    verify() of the archive         : {verified:>10,.0f} records/s")


if __name__ == "__main__":
    main()
