"""A case's numbers: the series under test and when to assert, from the alert's settings only
(the family modules make them; `builder` makes a service's test group of one)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from rulegen.cases import TestgenError
from rulegen.gotemplate import UnsupportedTemplate, humanize1024, stable
from rulegen.synth import Sample


@dataclass(frozen=True)
class Shape:
    case: str
    comment: str
    values: tuple[Sample, ...]  # the signal under test, one sample per S from t=0
    at: int  # the assertion time: when it fires, or the end of the series (silent)
    fires: bool
    exact: float | None = None  # $value of the primary case (asserted with alert_rule_test)
    limit: str = "set"  # the limit series: set | zero | absent | other (another pod's)
    quiet_growth: bool = False  # also assert memory-growth stays silent
    quiet_for: int = 0  # silent: over the last quiet_for seconds only (0: the whole series)
    gcs: tuple[Sample, ...] | None = None  # the major-collection counter beside it (major_gcs)


def q(x: float, unit: float) -> float:
    """x rounded to a whole number of `unit`s (MiB for memory, 1 for counts), at least one."""
    return float(max(1, round(x / unit)) * unit)


def amt(x: float, mem: bool) -> str:
    """An amount for a comment: 30MiB, 1.5GiB, or a plain count."""
    return humanize1024(x) + "B" if mem else f"{x:g}"


def first_stable(fmts: tuple[str, ...], candidates: Sequence[tuple[float, float]]
                 ) -> tuple[float, float]:
    """The first (value, parameter) whose `$value` text is the same on 2.x and 3.x."""
    for value, param in candidates:
        try:
            if all(stable(f, value) for f in fmts):
                return value, param
        except UnsupportedTemplate:  # a custom annotation: its case asserts labels only
            return candidates[0]
    raise TestgenError(f"no case value prints the same on Prometheus 2.x and 3.x for {fmts}")


def gc_cycle(S: int, G: int) -> int:
    """The sawtooth period of the cases: the gc_period, down to whole scrapes (so every window
    of gc_period holds a trough sample); 0 (no sawtooth) when that is under two scrapes."""
    P = G // S * S
    return P if P >= 2 * S else 0


def frozen(values: Sequence[Sample]) -> tuple[Sample, ...]:
    return tuple(values)
