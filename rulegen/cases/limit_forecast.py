"""The cases of limit-forecast (docs/families.md, "limit-forecast"): memory whose GC peaks are
forecast to reach the limit within the horizon H, while the troughs really rise, fires before
the OOM; high steady memory, a deploy's or a restart's warm-up, and memory whose limit is
missing do not."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable

from rulegen.cases import no_limit
from rulegen.cases.builder import CaseBuilder
from rulegen.cases.groups import Group
from rulegen.cases.settings import HOUR, MIN, Settings
from rulegen.cases.shape import Shape, amt, first_stable, frozen, gc_cycle
from rulegen.synth import (
    add,
    constant,
    linear_leak,
    restart,
    sawtooth,
    warmup,
    whole_amplitude,
)
from rulegen.units import format_duration as dur

FAMILIES = ("limit-forecast",)


class Forecast:
    """What the limit-forecast cases share."""

    def __init__(self, s: Settings) -> None:
        self.s = s
        self.P = gc_cycle(s.S, s.G)
        self.end = s.up(2 * s.W + s.F + s.G)  # of the silent cases
        self.R = s.up(min(20 * MIN, s.W / 3))  # a warm-up's duration


def slow_leak(f: Forecast) -> Shape:
    """The primary case. A slow leak (half the growth threshold, so memory-growth misses it)
    that reaches the limit H after the window fills: the forecast crosses 100% as soon as it
    may fire; a clean ramp, so `$value` is the exact forecast."""
    s, lim, Hz = f.s, f.s.limit, f.s.H
    oom = s.up(s.W) + Hz
    slow = 0.5 * s.growth_T / HOUR if s.growth_T else lim / (2 * oom)
    r = s.whole(min(slow, 0.9 * lim / oom), at_least=False)
    start = max(0, round(lim - r * oom))
    oom_at = (lim - start) / r
    first = s.up(max(oom_at - Hz, s.W + 2 * s.G) + s.F + 5 * MIN)
    value, tf = first_stable(s.fmts, [((start + r * t + r * Hz) / lim, t)
                                      for t in range(first, first + 50 * s.step, s.step)])
    t = int(tf)
    n = s.n(t)
    when = f"before the OOM at {dur(round(oom_at))}" if t < oom_at else "(after the OOM)"
    quiet = s.growth_T is not None and r * HOUR < s.growth_T
    return Shape(
        "slow-leak", f"a slow leak of {amt(r * HOUR, True)}/h"
        + (" (half the memory-growth threshold)" if s.growth_T else "")
        + f" from {start / lim:.0%} of the limit: fires at {dur(t)}, {when}; $value is the "
        "exact forecast",
        frozen(add(constant(start, step_s=s.S, n=n), linear_leak(r, step_s=s.S, n=n))),
        t, True, value, quiet_growth=quiet)


def leak_gc(f: Forecast) -> Shape | None:
    """Under a sawtooth the peaks are a staircase whose fitted slope is off by up to ~20%: the
    peaks start at 50% of the limit and reach it H/2 after the assertion."""
    s, P, lim = f.s, f.P, f.s.limit
    if not P:
        return None
    A = whole_amplitude(round(0.1 * lim), P, s.S)
    t2 = s.up(s.W + 3 * s.G + s.F + 5 * MIN)
    oom2 = t2 + s.H // 2
    r2 = s.whole(0.5 * lim / oom2)
    n2 = s.n(t2)
    return Shape(
        "leak-gc", f"a leak of {amt(r2 * HOUR, True)}/h under a sawtooth (amplitude 10% of "
        f"the limit) from 50% of the limit: the peaks reach it at {dur(oom2)}; firing at "
        f"{dur(t2)}", frozen(add(sawtooth(round(0.5 * lim) - A, A, P, step_s=s.S, n=n2),
                                 linear_leak(r2, step_s=s.S, n=n2))), t2, True)


def leak_gc_wide(f: Forecast) -> Shape | None:
    """A leak under the declared GC cycle with a wide sawtooth (20% of the limit, peaks from
    60%), whose peaks reach the limit D >= 9.5h after it starts: firing at least an hour (or
    what the horizon leaves after `for`) before they do."""
    s, P, lim = f.s, f.P, f.s.limit
    if not P:
        return None
    start = s.up(s.W + s.G)
    D = s.up(max(9.5 * HOUR, s.W + 2 * s.G + s.F + s.H + HOUR))
    t = s.up(start + D - s.H + s.F + 2 * s.G + 5 * MIN)
    if t >= start + D:
        return None  # a horizon shorter than `for` and two GC periods leaves no warning
    A = whole_amplitude(round(0.2 * lim), P, s.S)
    r = s.whole(0.4 * lim / D, at_least=False)
    oom = start + (lim - round(0.6 * lim)) / r
    n = s.n(t)
    return Shape(
        "leak-gc-wide", f"a sawtooth of period {dur(P)} and amplitude 20% of the limit, peaks "
        f"at 60%; from {dur(start)} a leak of {amt(r * HOUR, True)}/h: the peaks reach the "
        f"limit at {dur(round(oom))}; firing at {dur(t)}, {dur(round(oom) - t)} before",
        frozen(add(sawtooth(round(0.6 * lim) - A, A, P, step_s=s.S, n=n),
                   linear_leak(r, start, step_s=s.S, n=n))), t, True)


def healthy_steady_high(f: Forecast) -> Shape:
    s, lim, n = f.s, f.s.limit, f.s.n(f.end)
    lo, hi = round(0.85 * lim), round(0.97 * lim)
    vals = (sawtooth(lo, hi - lo, f.P, step_s=s.S, n=n) if f.P
            else constant(lo, step_s=s.S, n=n))
    return Shape("healthy-steady-high", "steady at 85% of the limit, sawtooth peaks at 97%",
                 frozen(vals), f.end, False)


def healthy_warmup_deploy(f: Forecast) -> Shape:
    s, lim = f.s, f.s.limit
    return Shape("healthy-warmup-deploy", f"a new series (a deploy) warming up from 10% to "
                 f"70% of the limit over {dur(f.R)}",
                 frozen(warmup(round(0.7 * lim), f.R, 0, round(0.1 * lim), step_s=s.S,
                               n=s.n(f.end))), f.end, False)


def healthy_restart(f: Forecast) -> Shape:
    s, lim = f.s, f.s.limit
    e = s.up(s.W + s.G)
    d2 = s.up(e + f.R + s.W + s.G + s.F)
    return Shape("healthy-restart", f"steady at 85% of the limit, restarted at {dur(e)}: "
                 f"back from 10% over {dur(f.R)}",
                 frozen(restart(constant(round(0.85 * lim), step_s=s.S, n=s.n(d2)), e,
                                round(0.1 * lim), f.R, step_s=s.S)), d2, False)


CASES: tuple[Callable[[Forecast], Shape | None], ...] = (
    slow_leak, leak_gc, leak_gc_wide, healthy_steady_high, healthy_warmup_deploy,
    healthy_restart,
)


@functools.lru_cache(maxsize=256)
def shapes(s: Settings) -> tuple[Shape, ...]:
    """Every case that applies to these settings: `CASES`, then `no_limit`'s (with a fast
    leak that reaches the limit within H)."""
    f = Forecast(s)
    out = [sh for case in CASES if (sh := case(f)) is not None]
    if s.unlimited:
        n = s.n(f.end)
        fast = add(constant(round(0.5 * s.limit), step_s=s.S, n=n),
                   linear_leak(s.whole(s.limit / s.H), step_s=s.S, n=n))
        out += no_limit.shapes(s, f.end, fast)
    return tuple(out)


def settings(c: CaseBuilder) -> Settings:
    growth = next((x for x in c.plan.alerts if x.family.id == "memory-growth"), None)
    return dataclasses.replace(c.settings, H=c.alert.horizon_s, limit=c.lim,
                               limit_source=c.limit_source,
                               growth_T=growth.threshold if growth else None,
                               fmts=c.fmts(c.fam.alertname))


def groups(c: CaseBuilder) -> list[Group]:
    assert c.used is not None
    return [c.realize(sh, c.used, c.join_note()) for sh in shapes(settings(c))]
