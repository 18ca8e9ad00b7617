"""The cases of memory-growth, and of the count-leak families that share them: goroutine-leak,
thread-leak and handle-leak (docs/families.md, "Growth families").

Each case is a function of `Growth`, the quantities every case shares, computed from the
alert's settings (scrape interval S, gc_period G, window W, `for` F, threshold T per hour).
The GC-cycle cases (`leak-long-gc`, `healthy-sawtooth-long`, `healthy-sawtooth-mid`,
`healthy-gaps-aligned`) are about memory: memory-growth only.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from collections.abc import Callable

from rulegen.cases.builder import CaseBuilder
from rulegen.cases.groups import Group
from rulegen.cases.settings import DAY, HOUR, MIB, MIN, Settings
from rulegen.cases.shape import Shape, amt, first_stable, frozen, gc_cycle, q
from rulegen.synth import (
    STALE,
    Sample,
    add,
    collections,
    constant,
    daily_curve,
    linear_leak,
    restart,
    sawtooth,
    step_change,
    stepwise_leak,
    warmup,
    whole_amplitude,
    with_gaps,
)
from rulegen.units import format_duration as dur

FAMILIES = ("memory-growth", "goroutine-leak", "thread-leak", "handle-leak")


class Growth:
    """What the growth cases share: amounts, the steady baseline, the GC sawtooth."""

    def __init__(self, s: Settings) -> None:
        self.s = s
        self.unit = MIB if s.memory else 1.0
        self.per_s = s.T / HOUR  # the threshold per second
        self.U = s.T * s.W / HOUR  # growth over one window at the threshold
        self.base = q(max(4 * self.U, 64 * MIB if s.memory else 20), self.unit)
        self.hist = s.up(s.W + s.G)  # steady history before any event
        self.P = gc_cycle(s.S, s.G)  # the sawtooth's period
        self.A = whole_amplitude(q(5 * self.U, self.unit), self.P, s.S) if self.P else 0.0
        self.r3 = s.whole(3 * self.per_s)  # a leak at 3x the threshold
        self.PL = s.up(s.W / 4)  # a GC cycle longer than gc_period, and its amplitude
        self.AL = whole_amplitude(q(2 * self.per_s * self.PL, self.unit), self.PL, s.S)
        self.R = s.up(s.W / 4)  # a warm-up's duration
        self.what = "the post-GC baseline" if s.memory else "the count"

    def amt(self, x: float) -> str:
        return amt(x, self.s.memory)

    def rate(self, x: float) -> str:
        return self.amt(x * HOUR) + "/h"

    def saw(self, n: int, amp: float | None = None, period: int | None = None) -> list[Sample]:
        """The GC sawtooth around 0 (the gc_period's by default)."""
        amp = self.A if amp is None else amp
        period = self.P if period is None else period
        if not period or not amp:
            return constant(0, step_s=self.s.S, n=n)
        return sawtooth(0, amp, period, step_s=self.s.S, n=n)

    def steady(self, n: int) -> list[Sample]:
        return add(constant(self.base, step_s=self.s.S, n=n), self.saw(n))

    def healthy(self, case: str, comment: str, values: list[Sample]) -> Shape:
        """A silent case, asserted at the end of its series."""
        return Shape(case, comment, frozen(values), (len(values) - 1) * self.s.S, False)


# --- leaks: firing --------------------------------------------------------------------------


def leak_linear(g: Growth) -> Shape:
    """The primary case: a clean integer ramp from a new series, >= 3x: its slope is exact."""
    s = g.s
    r0 = s.whole(3 * g.per_s)
    value, r = first_stable(s.fmts, [((r0 + k / s.S) * HOUR, r0 + k / s.S) for k in range(50)])
    t = s.up(s.W + 2 * s.G + s.F + 5 * MIN)
    n = s.n(t)
    return Shape(
        "leak-linear", f"{g.what} of a new series grows {g.rate(r)} (3x threshold) from t=0: "
        f"the window and two GC periods before it fill at {dur(s.W + 2 * s.G)}, the alert "
        f"fires {dur(s.F)} later; $value is the exact slope",
        frozen(add(constant(g.base, step_s=s.S, n=n), linear_leak(r, step_s=s.S, n=n))), t,
        True, value)


def leak_sawtooth(g: Growth) -> Shape:
    s, e = g.s, g.hist
    t = s.up(e + s.W + s.F + s.G)
    n = s.n(t)
    return Shape(
        "leak-sawtooth", f"a sawtooth (period {dur(g.P)}, amplitude {g.amt(g.A)}) for {dur(e)}, "
        f"then its troughs rise {g.rate(g.r3)}: firing W+F+G after the leak starts",
        frozen(add(g.steady(n), linear_leak(g.r3, e, step_s=s.S, n=n))), t, True)


def leak_stepwise(g: Growth) -> Shape:
    s, e = g.s, g.hist
    # a jump per quarter of a half window at most (a rarer one is a series of one-off steps)
    every = max(s.S, min(15 * MIN, s.W // 8) // s.S * s.S)
    jump = q(3 * g.per_s * every, 1.0)
    t = s.up(e + s.W + s.F + every)
    n = s.n(t)
    return Shape(
        "leak-stepwise", f"after {dur(e)} the baseline jumps by {g.amt(jump)} every "
        f"{dur(every)} (3x threshold on average) under the sawtooth: firing W+F+{dur(every)} "
        "after the start",
        frozen(add(g.steady(n), stepwise_leak(jump, every, e, step_s=s.S, n=n))), t, True)


def leak_long_gc(g: Growth) -> Shape | None:
    s, e = g.s, g.hist
    if not s.gc_cases:
        return None
    t = s.up(e + s.W + s.F + g.PL)
    n = s.n(t)
    return Shape(
        "leak-long-gc", f"a long GC cycle (period {dur(g.PL)}, longer than gc_period; "
        f"amplitude {g.amt(g.AL)}, an in-cycle slope of 2x threshold); after {dur(e)} the "
        f"baseline rises {g.rate(g.r3)}: firing W+F+{dur(g.PL)} after the start",
        frozen(add(constant(g.base, step_s=s.S, n=n), g.saw(n, g.AL, g.PL),
                   linear_leak(g.r3, e, step_s=s.S, n=n))), t, True)


def leak_collected(g: Growth) -> Shape | None:
    """leak-sawtooth where the runtime counts its major collections: one per GC period, so
    every window holds enough of them and nothing holds the alert off."""
    if not g.s.gc_gate:
        return None
    sh = leak_sawtooth(g)
    return dataclasses.replace(
        sh, case="leak-collected", gcs=frozen(collections(sh.values)),
        comment=sh.comment + "; the major-collection counter counts each of its drops")


# --- healthy: silent ------------------------------------------------------------------------


def healthy_sawtooth_short(g: Growth) -> Shape:
    s = g.s
    t = s.up(g.hist + s.W + s.G + s.F)
    return g.healthy("healthy-sawtooth-short", f"a sawtooth with the gc_period ({dur(g.P)}) and "
                     f"a large amplitude ({g.amt(g.A)}), no leak", g.steady(s.n(t)))


def healthy_sawtooth_long(g: Growth) -> Shape | None:
    s = g.s
    if not s.gc_cases:
        return None
    P4 = 4 * HOUR
    A4 = whole_amplitude(q(0.8 * g.per_s * P4, g.unit), P4, s.S)
    t = s.up(s.W + s.G + P4 + s.F)
    return g.healthy("healthy-sawtooth-long",
                     f"a {dur(P4)} GC cycle (amplitude {g.amt(A4)}) whose in-cycle slope is 0.8x "
                     "threshold (no window shorter than the cycle tells a steeper one from a "
                     "leak)", add(constant(g.base, step_s=s.S, n=s.n(t)), g.saw(s.n(t), A4, P4)))


def healthy_sawtooth_mid(g: Growth) -> Shape | None:
    s = g.s
    if not s.gc_cases:
        return None
    t = s.up(g.hist + s.W + s.G + s.F + g.PL)
    return g.healthy("healthy-sawtooth-mid",
                     f"the long GC cycle of leak-long-gc (period {dur(g.PL)}, amplitude "
                     f"{g.amt(g.AL)}, in-cycle slope 2x threshold) without the leak",
                     add(constant(g.base, step_s=s.S, n=s.n(t)), g.saw(s.n(t), g.AL, g.PL)))


def healthy_uncollected(g: Growth) -> Shape | None:
    """A GC cycle of twice the window, counted by the runtime's major-collection counter: no
    window holds two collections, so none holds a post-GC trough to compare."""
    s = g.s
    if not s.gc_gate:
        return None
    P = s.up(2 * s.W)
    A = whole_amplitude(q(2 * g.per_s * P, g.unit), P, s.S)
    t = s.up(s.W + s.G + 2 * P + s.F)
    vals = add(constant(g.base, step_s=s.S, n=s.n(t)), g.saw(s.n(t), A, P))
    sh = g.healthy("healthy-uncollected",
                   f"a {dur(P)} GC cycle (amplitude {g.amt(A)}, an in-cycle slope of 2x "
                   "threshold: it fires without the counter) whose major collections the "
                   "runtime counts: fewer than two in any window", vals)
    return dataclasses.replace(sh, gcs=frozen(collections(vals)))


def healthy_warmup_deploy(g: Growth) -> Shape:
    s = g.s
    H = q(3 * g.U, g.unit)
    t = s.up(2 * s.W + s.G + s.F)
    n = s.n(t)
    return g.healthy("healthy-warmup-deploy",
                     f"a new series (a deploy) warming up from {g.amt(g.base / 4)} to "
                     f"{g.amt(g.base + H)} over {dur(g.R)}, then steady under the sawtooth",
                     add(warmup(g.base + H, g.R, 0, q(g.base / 4, g.unit), step_s=s.S, n=n),
                         g.saw(n)))


def healthy_restart(g: Growth) -> Shape:
    s, e = g.s, g.hist
    t = s.up(e + g.R + s.W + s.G + s.F)
    n = s.n(t)
    return g.healthy("healthy-restart", f"a restart at {dur(e)}: drops to {g.amt(g.base / 5)}, "
                     f"warms up over {dur(g.R)} back to the baseline",
                     restart(g.steady(n), e, q(g.base / 5, g.unit), g.R, step_s=s.S))


def healthy_step_up(g: Growth) -> Shape:
    s, e = g.s, g.hist
    n = s.n(s.up(e + s.W + s.G + s.F))
    step = q(2 * g.U, g.unit)
    return g.healthy("healthy-step-up", f"a one-off step up by {g.amt(step)} at {dur(e)}: a "
                     "whole-window slope of up to 3x threshold, but only one half of the window "
                     "ever contains the step",
                     add(g.steady(n), step_change(step, e, step_s=s.S, n=n)))


def healthy_daily_curve(g: Growth) -> Shape:
    s, e = g.s, g.hist
    n = s.n(s.up(e + s.W + s.G + s.F))
    amp = 0.8 * s.T * DAY / (2 * math.pi * HOUR)
    steep = e + s.W // 2
    return g.healthy("healthy-daily-curve", f"a daily traffic curve (amplitude {g.amt(amp)}, "
                     f"steepest slope 0.8x threshold at {dur(steep)}) under the sawtooth",
                     add(g.steady(n), daily_curve(amp, DAY, -steep, step_s=s.S, n=n)))


def _day2(g: Growth) -> tuple[int, float, int]:
    """A daily curve steep enough to fire without history (steepest slope 3x threshold, at
    the end of the steady history on day 1 and again a day later), and the end of its cases:
    past the steep phase of day 2 by a window, the GC periods and `for`."""
    s = g.s
    amp = 3 * s.T * DAY / (2 * math.pi * HOUR)
    steep = g.hist
    end = s.up(DAY + steep + s.W + 2 * s.G + s.F + 5 * MIN)
    return steep, amp, end


def healthy_daily_curve_day2(g: Growth) -> Shape | None:
    s = g.s
    if not s.gc_cases:
        return None
    steep, amp, end = _day2(g)
    n = s.n(end)
    day2 = s.up(DAY + s.G)
    return Shape("healthy-daily-curve-day2", f"a daily traffic curve steep enough to fire "
                 f"without history (amplitude {g.amt(amp)}, steepest slope 3x threshold at "
                 f"{dur(steep)} and {dur(DAY + steep)}): silent on day 2 (from {dur(day2)}), "
                 "where the troughs a day ago are as high",
                 frozen(add(g.steady(n), constant(q(amp, g.unit), step_s=s.S, n=n),
                            daily_curve(amp, DAY, -steep, step_s=s.S, n=n))),
                 end, False, quiet_for=end - day2)


def leak_daily_curve_day2(g: Growth) -> Shape | None:
    s = g.s
    if not s.gc_cases:
        return None
    steep, amp, end = _day2(g)
    start = s.up(DAY + steep - s.W // 2)
    t = s.up(start + s.W + s.F + s.G + 5 * MIN)
    n = s.n(t)
    return Shape("leak-daily-curve-day2", f"the daily curve of healthy-daily-curve-day2 with "
                 f"a leak of {g.rate(g.r3)} (3x threshold) from {dur(start)} on day 2: above "
                 f"the troughs a day ago, firing at {dur(t)}",
                 frozen(add(g.steady(n), constant(q(amp, g.unit), step_s=s.S, n=n),
                            daily_curve(amp, DAY, -steep, step_s=s.S, n=n),
                            linear_leak(g.r3, start, step_s=s.S, n=n))), t, True)


def healthy_daily_curve_dip_day2(g: Growth) -> Shape | None:
    """Yesterday's troughs dipped where today's curve rises: a day-ago comparison with the one
    trough at the same time yesterday sees the dip as growth for as long as the dip lasted;
    with the highest trough of the hour before, it sees the curve. Needs the dip (and a GC
    period) to lie within that hour and the curve's rise over it to stay under the growth the
    comparison asks for, else the case does not apply."""
    s = g.s
    if not s.gc_cases:
        return None
    k = 1.5  # the curve's steepest slope, in thresholds: its rise fires without history
    amp = k * s.T * DAY / (2 * math.pi * HOUR)
    dip = s.up(s.F + 10 * MIN)
    if k * (dip + s.G + s.S) > 0.8 * s.W / 2 or dip + s.G + s.S >= HOUR:
        return None
    steep = g.hist
    start = s.up(steep - dip // 2)
    end = s.up(DAY + start + dip + 2 * s.G + s.F + 5 * MIN)
    n = s.n(end)
    day2 = s.up(DAY + s.G)
    depth = q(g.U, g.unit)  # twice the growth the day-ago comparison asks for
    return Shape("healthy-daily-curve-dip-day2", f"a daily traffic curve (steepest slope "
                 f"{k:g}x threshold at {dur(steep)} and {dur(DAY + steep)}) whose baseline "
                 f"dipped by {g.amt(depth)} for {dur(dip)} from {dur(start)} on day 1 (a cache "
                 f"dropped): silent on day 2 (from {dur(day2)}), where the one trough a day ago "
                 "is low but the highest in the hour before it is not",
                 frozen(add(g.steady(n), constant(q(amp, g.unit), step_s=s.S, n=n),
                            daily_curve(amp, DAY, -steep, step_s=s.S, n=n),
                            step_change(-depth, start, step_s=s.S, n=n),
                            step_change(depth, start + dip, step_s=s.S, n=n))),
                 end, False, quiet_for=end - day2)


def healthy_gaps(g: Growth) -> Shape:
    s, e = g.s, g.hist
    n = s.n(s.up(e + 60 * MIN + s.W + s.G + s.F))
    vals = with_gaps(g.steady(n), [(e, e + 10 * MIN), (e + 30 * MIN, e + 60 * MIN)], step_s=s.S)
    vals[e // s.S] = STALE  # the target went away: Prometheus writes a staleness marker
    return g.healthy("healthy-gaps", "scrape gaps of 10m (starting with a staleness marker) "
                     "and 30m (longer than gc_period) in a steady sawtooth", vals)


def healthy_gaps_aligned(g: Growth) -> Shape | None:
    """The worst gaps for troughs: each starts at a trough that lies a sample or two past a
    multiple of gc_period, so a window ending there holds only the end of the previous cycle
    (a "trough" up to a whole amplitude too high) unless troughs need half a period of
    samples; and the gaps lie half a window apart, at the ends of both halves at once."""
    s, e, P = g.s, g.hist, g.P
    if not (s.gc_cases and P):
        return None
    A2 = whole_amplitude(q(10 * g.U, g.unit), P, s.S)
    off = max(1, min(2, P // s.S - 1)) * s.S
    g1 = off + -(-(e - off) // P) * P
    gl = s.up(max(30 * MIN, 2 * s.G))
    t = s.up(g1 + s.W // 2 + gl + s.W + s.G + s.F)
    n = s.n(t)
    vals = with_gaps(add(constant(g.base, step_s=s.S, n=n),
                         sawtooth(0, A2, P, (P - off) % P, step_s=s.S, n=n)),
                     [(g1, g1 + gl), (g1 + s.W // 2, g1 + s.W // 2 + gl)], step_s=s.S)
    return g.healthy("healthy-gaps-aligned", f"a sawtooth of amplitude {g.amt(A2)} with two "
                     f"{dur(gl)} gaps {dur(s.W // 2)} apart, each starting at a trough just "
                     "past a gc_period step: only windows with a whole GC period of samples "
                     "give troughs", vals)


CASES: tuple[Callable[[Growth], Shape | None], ...] = (
    leak_linear, leak_sawtooth, leak_stepwise, leak_long_gc, leak_collected,
    healthy_sawtooth_short, healthy_sawtooth_long, healthy_sawtooth_mid, healthy_uncollected,
    healthy_warmup_deploy,
    healthy_restart, healthy_step_up, healthy_daily_curve, healthy_gaps, healthy_gaps_aligned,
    healthy_daily_curve_day2, leak_daily_curve_day2, healthy_daily_curve_dip_day2,
)


@functools.lru_cache(maxsize=256)
def shapes(s: Settings) -> tuple[Shape, ...]:
    """Every case that applies to these settings, in the order of `CASES`."""
    g = Growth(s)
    return tuple(sh for case in CASES if (sh := case(g)) is not None)


def settings(c: CaseBuilder) -> Settings:
    return dataclasses.replace(
        c.settings, T=c.alert.threshold, memory=c.fam.threshold_kind == "bytes_per_hour",
        gc_cases=c.fam.id == "memory-growth",
        gc_gate=c.fam.id == "memory-growth" and "major_gcs" in c.plan.signals,
        fmts=c.fmts(c.fam.alertname))


def groups(c: CaseBuilder) -> list[Group]:
    sig = c.plan.signals[c.fam.signal]
    return [c.realize(sh, sig) for sh in shapes(settings(c))]
