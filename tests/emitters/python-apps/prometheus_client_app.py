"""prometheus_client with its default collectors (process_*, python_gc_*, python_info),
served on 127.0.0.1:$PORT/metrics; LEAK=1 leaks (see workload.py)."""

from __future__ import annotations

import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import prometheus_client  # noqa: E402
import workload  # noqa: E402

prometheus_client.start_http_server(int(os.environ["PORT"]), addr="127.0.0.1")
workload.start()
while True:
    time.sleep(3600)
