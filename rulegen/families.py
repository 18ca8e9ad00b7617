"""The alert families: one ID each, used in the inventory, templates, tests, docs and output.

A family applies to a service when the service's runtime/convention gives its signal (and, for
limit families, when the service has a limit). Its PromQL lives in templates/alerts/<id>.yml.j2.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

ThresholdKind = Literal["bytes_per_hour", "ratio", "count_per_hour", "none"]


@dataclass(frozen=True)
class Family:
    id: str
    alertname: str
    signal: str  # catalog signal the family watches
    threshold_kind: ThresholdKind
    defaults: dict[str, object] = field(default_factory=dict)
    needs_limit: bool = False
    doc: str = ""

    @property
    def template(self) -> str:
        return f"alerts/{self.id}.yml.j2"

    @property
    def settings_key(self) -> str:
        return self.id.replace("-", "_")


_GROWTH = {"window": 7200, "for": 900, "severity": "warning"}

FAMILIES: dict[str, Family] = {f.id: f for f in (
    Family("memory-growth", "MemoryLeakSuspected", "heap", "bytes_per_hour",
           {**_GROWTH, "threshold": 10 * 2**20},
           doc="steady growth of the post-GC memory baseline"),
    Family("limit-ratio", "MemoryNearLimit", "resident", "ratio",
           {"window": 600, "for": 300, "severity": "warning", "threshold": 0.8},
           needs_limit=True, doc="memory stayed above a fraction of its limit"),
    Family("limit-forecast", "MemoryLimitExhaustionForecast", "resident", "none",
           {"window": 7200, "for": 900, "severity": "critical", "horizon": 4 * 3600},
           needs_limit=True, doc="memory will reach its limit within the horizon"),
    Family("goroutine-leak", "GoroutineLeakSuspected", "goroutines", "count_per_hour",
           {**_GROWTH, "threshold": 100.0}, doc="steady growth of the goroutine count"),
    Family("thread-leak", "ThreadLeakSuspected", "threads", "count_per_hour",
           {**_GROWTH, "threshold": 20.0}, doc="steady growth of the thread count"),
    Family("handle-leak", "HandleLeakSuspected", "handles", "count_per_hour",
           {**_GROWTH, "threshold": 50.0}, doc="steady growth of open handles/file descriptors"),
    Family("telemetry-missing", "LeakTelemetryMissing", "heap", "none",
           {"window": 900, "for": 300, "severity": "warning"},
           doc="a signal the leak alerts need has vanished, so they cannot fire"),
)}
