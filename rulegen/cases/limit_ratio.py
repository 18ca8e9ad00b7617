"""The cases of limit-ratio (docs/families.md, "limit-ratio"): memory that stayed above a
fraction T of its limit for the whole window fires; high but steady memory, and memory whose
limit is missing, does not."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

from rulegen.cases import no_limit
from rulegen.cases.builder import CaseBuilder
from rulegen.cases.groups import Group
from rulegen.cases.settings import MIN, Settings
from rulegen.cases.shape import Shape, first_stable, frozen, gc_cycle
from rulegen.synth import constant, sawtooth

FAMILIES = ("limit-ratio",)


class Ratio:
    """What the limit-ratio cases share."""

    def __init__(self, s: Settings) -> None:
        self.s = s
        self.W = max(s.W, s.G)  # the rule's window spans at least one GC period
        self.P = gc_cycle(s.S, s.G)
        # the level of the firing cases: between the threshold and the limit
        self.target = (s.T + 1) / 2 if s.T < 1 else s.T + 0.05
        step = max(1, s.limit // 1000)
        self.value, self.level = first_stable(s.fmts, [
            ((round(self.target * s.limit) + k * step) / s.limit,
             round(self.target * s.limit) + k * step) for k in range(50)])
        self.fires_at = s.up(self.W + s.F + 5 * MIN)
        self.end = s.up(self.W + s.F + max(2 * s.G, 30 * MIN))  # of the silent cases


def over_ratio(r: Ratio) -> Shape:
    """The primary case: a constant level, so `$value` is the exact ratio."""
    s, t = r.s, r.fires_at
    return Shape("over-ratio", f"memory steady at {r.value:.4g} of the limit (threshold "
                 f"{s.T:g}): fires after W+F; $value is the exact ratio",
                 frozen(constant(r.level, step_s=s.S, n=s.n(t))), t, True, r.value)


def over_ratio_gc(r: Ratio) -> Shape | None:
    s, t = r.s, r.fires_at
    if not r.P:
        return None
    hi = round(max(r.target + 0.05, min(0.99, (s.T + 3) / 4)) * s.limit)
    return Shape("over-ratio-gc", f"a sawtooth whose troughs stay at {r.target:.3g} of the "
                 "limit: firing after W+F",
                 frozen(sawtooth(r.level, hi - r.level, r.P, step_s=s.S, n=s.n(t))), t, True)


def healthy_steady_high(r: Ratio) -> Shape:
    s, n = r.s, r.s.n(r.end)
    low, peak = round(0.9 * s.T * s.limit), round(max(0.98, s.T + 0.1) * s.limit)
    vals = (sawtooth(low, peak - low, r.P, step_s=s.S, n=n) if r.P
            else constant(low, step_s=s.S, n=n))
    return Shape("healthy-steady-high", f"high but steady: troughs at {0.9 * s.T:.3g} of the "
                 f"limit, under the threshold, sawtooth peaks at {peak / s.limit:.3g}",
                 frozen(vals), r.end, False)


CASES: tuple[Callable[[Ratio], Shape | None], ...] = (
    over_ratio, over_ratio_gc, healthy_steady_high,
)


@functools.lru_cache(maxsize=256)
def shapes(s: Settings) -> tuple[Shape, ...]:
    """Every case that applies to these settings: `CASES`, then `no_limit`'s."""
    r = Ratio(s)
    out = [sh for case in CASES if (sh := case(r)) is not None]
    if s.unlimited:
        high = constant(round(max(0.95, s.T + 0.1) * s.limit), step_s=s.S, n=s.n(r.end))
        out += no_limit.shapes(s, r.end, high)
    return tuple(out)


def settings(c: CaseBuilder) -> Settings:
    return dataclasses.replace(c.settings, T=c.alert.threshold, limit=c.lim,
                               limit_source=c.limit_source, fmts=c.fmts(c.fam.alertname))


def groups(c: CaseBuilder) -> list[Group]:
    assert c.used is not None
    return [c.realize(sh, c.used, c.join_note()) for sh in shapes(settings(c))]
