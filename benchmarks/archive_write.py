"""Archive write throughput next to baselines measured in the same run.

    python benchmarks/archive_write.py [--records N] [--batch B] [--rounds R]

Prints records/s (best of R interleaved rounds) for:
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
from pipeline.archive.writer import Item


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=50_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--segment-bytes", type=int, default=16 * 1024 * 1024)
    args = parser.parse_args()

    events: list[AccessEvent] = []
    spec = ScenarioSpec(users=200, hours=8.0, seed=1)
    while len(events) < args.records:
        events.extend(ev for ev, _ in generate(spec))
        spec = ScenarioSpec(users=200, hours=8.0, seed=spec.seed + 1)
    events = events[: args.records]
    items: list[Item] = [("event", event_data(ev), ev.timestamp) for ev in events]
    raws = [ev.to_json() for ev in events]
    n, b = len(items), args.batch
    line_bytes = sum(len(json.dumps(d)) for _, d, _ in items) / n
    print(f"{n} event records, ~{line_bytes:.0f} bytes of event JSON each, batches of {b}")

    key = Ed25519PrivateKey.generate()
    best: dict[str, float] = {}
    segments = 0
    # Interleaved rounds, best of each: the machine is shared, so one pass is noisy.
    for _ in range(args.rounds):
        with tempfile.TemporaryDirectory() as tmp:
            rates = {
                "base": _baseline(items, b, Path(tmp) / "baseline.ndjson"),
                "archive": _archive(items, b, Path(tmp) / "archive", key, args.segment_bytes),
            }
            segments = len(list((Path(tmp) / "archive").glob("*.seal.json")))
            t0 = time.perf_counter()
            report = verify(LocalDirectoryBackend(Path(tmp) / "archive"), key.public_key())
            rates["verify"] = n / (time.perf_counter() - t0)
            assert report.ok, report.problems
        t0 = time.perf_counter()
        for raw in raws:
            parse_event(raw)
        rates["ingest"] = n / (time.perf_counter() - t0)
        for name, rate in rates.items():
            best[name] = max(best.get(name, 0.0), rate)
    base, archive, ingest, verified = best["base"], best["archive"], best["ingest"], best["verify"]

    print(f"baseline  json.dumps + write + fsync/batch : {base:>10,.0f} records/s")
    print(
        f"archive   ArchiveWriter.append_many        : {archive:>10,.0f} records/s "
        f"({archive / base:.2f}x baseline, {segments} sealed segment(s))"
    )
    print(f"ingest    parse_event (pipeline's own work): {ingest:>10,.0f} events/s")
    print(f"verify    verify() of the archive         : {verified:>10,.0f} records/s")


def _baseline(items: list[Item], b: int, path: Path) -> float:
    t0 = time.perf_counter()
    with path.open("wb") as fh:
        for i in range(0, len(items), b):
            fh.write(b"".join(json.dumps(d).encode() + b"\n" for _, d, _ in items[i : i + b]))
            fh.flush()
            os.fsync(fh.fileno())
    return len(items) / (time.perf_counter() - t0)


def _archive(
    items: list[Item], b: int, path: Path, key: Ed25519PrivateKey, segment_bytes: int
) -> float:
    t0 = time.perf_counter()
    with ArchiveWriter.open_dir(path, key, max_segment_bytes=segment_bytes) as writer:
        for i in range(0, len(items), b):
            writer.append_many(items[i : i + b])
    return len(items) / (time.perf_counter() - t0)


if __name__ == "__main__":
    main()
