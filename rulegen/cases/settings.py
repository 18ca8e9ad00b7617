"""The settings an alert's cases are computed from: one frozen object per alert."""

from __future__ import annotations

import math
from dataclasses import dataclass

MIN, HOUR, DAY, MIB = 60, 3600, 86400, 2**20


@dataclass(frozen=True)
class Settings:
    """The numbers of one alert of one service that its cases depend on, in seconds (the
    letters of docs/families.md). Nothing else: the cases of equal settings are equal, so a
    family computes them once per distinct setting (a large inventory of similar services pays
    for labels only). A family fills only the fields its cases read."""

    S: int  # scrape interval: one sample per S from t=0
    G: int  # gc_period
    W: int  # the alert's window
    F: int  # the alert's `for`
    T: float = 0.0  # threshold: per hour (growth families), a fraction of the limit (limit-ratio)
    H: int = 0  # horizon (limit-forecast)
    limit: int = 0  # the limit the cases give, in bytes
    limit_source: str = ""  # static | runtime | metric ("": no limit)
    growth_T: float | None = None  # the service's memory-growth threshold, per hour
    memory: bool = False  # the signal is bytes (amounts in whole MiB), not a count
    gc_cases: bool = False  # also the cases of GC cycles longer than G (memory-growth)
    gc_gate: bool = False  # the runtime counts its major collections (signal major_gcs)
    fmts: tuple[str, ...] = ()  # the `{{ $value ... }}` actions of the alert's annotations
    E: int = MIN  # the evaluation interval the rules run (and are proved) at

    @property
    def step(self) -> int:
        """The grid every time is on: the sample grid (S) and the evaluation grid (E)."""
        return math.lcm(self.S, self.E)

    def up(self, t: float) -> int:
        """`t` rounded up onto the grid."""
        return int(-(-t // self.step) * self.step)

    def n(self, duration: int) -> int:
        """The number of samples from t=0 to `duration`."""
        return duration // self.S + 1

    def whole(self, rate_per_s: float, *, at_least: bool = True) -> float:
        """A rate (per second) whose per-sample increment is a whole number (>= 1)."""
        per = rate_per_s * self.S
        return max(1, math.ceil(per - 1e-9) if at_least else math.floor(per + 1e-9)) / self.S

    # the limit (limit families)
    @property
    def unlimited(self) -> bool:
        """The limit can be missing: its series can read 0 or -1, or be absent."""
        return self.limit_source != "static"

    @property
    def zero(self) -> float:
        """What the limit series reads when there is no limit (-1: a runtime's, else 0)."""
        return -1.0 if self.limit_source == "runtime" else 0.0

    @property
    def other_pods(self) -> bool:
        """The limit series is joined by pod: another pod's limit can be the only one."""
        return self.limit_source == "metric"
