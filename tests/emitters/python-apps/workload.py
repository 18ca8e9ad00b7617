"""The load every Python emitter app runs: LEAK=1 keeps ~100 kB more every second; LEAK=0
allocates the same and frees it (a ring of the last 3), so its memory stays flat after warm-up.

Both twins also churn short-lived garbage (~1 MB/s) so the collector and allocator work as in
a real service. Runs in a daemon thread; the chunks are written (os.urandom) so they are
resident, not lazily mapped zero pages."""

from __future__ import annotations

import os
import threading
import time

CHUNK = 10_000  # bytes
PER_SECOND = 10  # chunks: ~100 kB/s
RING = 3  # the healthy twin keeps at most this many chunks (0.3 s)


def _run(leak: bool) -> None:
    kept: list[bytes] = []
    i = 0
    while True:
        i += 1
        chunk = os.urandom(CHUNK)
        kept.append(chunk)
        if not leak and len(kept) > RING:
            del kept[0]
        # short-lived garbage, freed by reference counting at once (cycles would live until a
        # rare generation-2 collection: a sawtooth minutes long, longer than the test's window)
        garbage = [{"i": i, "payload": str(k) * 10} for k in range(1000)]
        del garbage
        time.sleep(1 / PER_SECOND)


def start() -> bool:
    """Start the workload thread; returns whether this is the leaking twin."""
    leak = os.environ.get("LEAK", "0") == "1"
    threading.Thread(target=_run, args=(leak,), name="workload", daemon=True).start()
    return leak
