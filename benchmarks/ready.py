"""How long a worker takes from process start to ready (group joined, partitions assigned,
tables recovered) on the embedded broker. Prints each run and the median.

    .venv/bin/python benchmarks/ready.py [--runs 3]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

from pipeline.broker import EmbeddedBroker
from pipeline.testing import start_worker


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    ns = parser.parse_args()
    times = []
    with EmbeddedBroker() as broker, tempfile.TemporaryDirectory() as tmp:
        for i in range(ns.runs):
            t0 = time.monotonic()
            worker = start_worker(broker.bootstrap, Path(tmp) / str(i), app_id="bench-ready")
            times.append(time.monotonic() - t0)
            worker.stop()
            print(f"run {i + 1}: ready in {times[-1]:.2f} s", flush=True)
    print(f"median ready time: {statistics.median(times):.2f} s over {ns.runs} runs "
          f"(process start to partitions assigned and tables recovered)")


if __name__ == "__main__":
    main()
