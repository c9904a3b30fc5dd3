"""The latency benchmark's webhook receiver, in a process of its own.

In the benchmark's own process the receiver thread competed for the GIL with the load
generator (thousands of sends a second), and the alerts it timed waited for it: arrivals
were stamped late by tens of milliseconds that were not the pipeline's. Here it has a
process to itself; each request is stamped with ``time.monotonic()`` as it comes in (the
clock is system-wide on Linux, so the stamps compare with the sender's).

Prints ``receiver.ready URL``, then ``arrival {"at": ..., "body": ...}`` per accepted POST.

    python benchmarks/latency_receiver.py
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from pipeline.receiver import WebhookReceiver


def main() -> None:
    with WebhookReceiver() as receiver:
        print(f"receiver.ready {receiver.url}", flush=True)
        seen = 0
        while True:
            got = receiver.wait_for(seen + 1, 1.0)
            for r in got[seen:]:
                print("arrival " + json.dumps({"at": r.at, "body": r.body.decode()}), flush=True)
            seen = len(got)


if __name__ == "__main__":
    main()
