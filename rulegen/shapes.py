"""The numbers of the generated test cases: for each family, the series under test and when
to assert, computed from the alert's settings only (scrape interval S, gc_period G, window W,
`for` F, threshold T, horizon H, limit).

They depend on no service, so each distinct setting is computed once (`functools.lru_cache`):
a large inventory of similar services pays for labels only. `rulegen.cases` turns a shape into
a test group for a service (labels, the other signals, the expectations).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Sequence
from dataclasses import dataclass

from rulegen.gotemplate import UnsupportedTemplate, humanize1024, stable
from rulegen.synth import (
    STALE,
    Sample,
    add,
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
from rulegen.testgen import TestgenError
from rulegen.units import format_duration as dur

MIN, HOUR, DAY, MIB = 60, 3600, 86400, 2**20


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


class Grid:
    """Time on the sample grid (S) and the evaluation grid (1m)."""

    def __init__(self, S: int) -> None:
        self.S, self.step = S, math.lcm(S, MIN)

    def up(self, t: float) -> int:
        return int(-(-t // self.step) * self.step)

    def n(self, duration: int) -> int:
        return duration // self.S + 1

    def whole(self, rate_per_s: float, *, at_least: bool = True) -> float:
        """A rate (per second) whose per-sample increment is a whole number (>= 1)."""
        per = rate_per_s * self.S
        return max(1, math.ceil(per - 1e-9) if at_least else math.floor(per + 1e-9)) / self.S


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


def _t(values: Sequence[Sample]) -> tuple[Sample, ...]:
    return tuple(values)


@functools.lru_cache(maxsize=256)
def growth_shapes(S: int, G: int, W: int, F: int, thr: float, mem: bool, gc_cases: bool,
                  fmts: tuple[str, ...]) -> tuple[Shape, ...]:
    """memory-growth, goroutine-leak, thread-leak, handle-leak (threshold per hour)."""
    g = Grid(S)
    unit = MIB if mem else 1.0
    T = thr / HOUR  # the threshold per second
    U = thr * W / HOUR  # growth over one window at the threshold
    base = q(max(4 * U, 64 * MIB if mem else 20), unit)
    hist = g.up(W + G)  # steady history before any event
    P = gc_cycle(S, G)
    A = whole_amplitude(q(5 * U, unit), P, S) if P else 0.0
    what = "the post-GC baseline" if mem else "the count"

    def rate(x: float) -> str:
        return amt(x * HOUR, mem) + "/h"

    def saw(n: int, amp: float = A, period: int = P) -> list[Sample]:
        if not period or not amp:
            return constant(0, step_s=S, n=n)
        return sawtooth(0, amp, period, step_s=S, n=n)

    def steady(n: int) -> list[Sample]:
        return add(constant(base, step_s=S, n=n), saw(n))

    out: list[Shape] = []
    # primary: a clean integer ramp from a new series, >= 3x: its slope is exact
    r0 = g.whole(3 * T)
    value, r = first_stable(fmts, [((r0 + k / S) * HOUR, r0 + k / S) for k in range(50)])
    t = g.up(W + 2 * G + F + 5 * MIN)
    n = g.n(t)
    out.append(Shape(
        "leak-linear", f"{what} of a new series grows {rate(r)} (3x threshold) from t=0: the "
        f"window and two GC periods before it fill at {dur(W + 2 * G)}, the alert fires "
        f"{dur(F)} later; $value is the exact slope",
        _t(add(constant(base, step_s=S, n=n), linear_leak(r, step_s=S, n=n))), t, True, value))
    r3, e = g.whole(3 * T), hist
    t = g.up(e + W + F + G)
    n = g.n(t)
    out.append(Shape(
        "leak-sawtooth", f"a sawtooth (period {dur(P)}, amplitude {amt(A, mem)}) for {dur(e)}, "
        f"then its troughs rise {rate(r3)}: firing W+F+G after the leak starts",
        _t(add(steady(n), linear_leak(r3, e, step_s=S, n=n))), t, True))
    # a jump per quarter of a half window at most (a rarer one is a series of one-off steps)
    every = max(S, min(15 * MIN, W // 8) // S * S)
    jump = q(3 * T * every, 1.0)
    t = g.up(e + W + F + every)
    n = g.n(t)
    out.append(Shape(
        "leak-stepwise", f"after {dur(e)} the baseline jumps by {amt(jump, mem)} every "
        f"{dur(every)} (3x threshold on average) under the sawtooth: firing W+F+{dur(every)} "
        "after the start", _t(add(steady(n), stepwise_leak(jump, every, e, step_s=S, n=n))),
        t, True))
    PL = g.up(W / 4)
    AL = whole_amplitude(q(2 * T * PL, unit), PL, S)
    if gc_cases:
        t = g.up(e + W + F + PL)
        n = g.n(t)
        out.append(Shape(
            "leak-long-gc", f"a long GC cycle (period {dur(PL)}, longer than gc_period; "
            f"amplitude {amt(AL, mem)}, an in-cycle slope of 2x threshold); after {dur(e)} the "
            f"baseline rises {rate(r3)}: firing W+F+{dur(PL)} after the start",
            _t(add(constant(base, step_s=S, n=n), saw(n, AL, PL),
                   linear_leak(r3, e, step_s=S, n=n))), t, True))

    def healthy(case: str, comment: str, values: list[Sample]) -> None:
        out.append(Shape(case, comment, _t(values), (len(values) - 1) * S, False))

    t = g.up(hist + W + G + F)
    healthy("healthy-sawtooth-short", f"a sawtooth with the gc_period ({dur(P)}) and a large "
            f"amplitude ({amt(A, mem)}), no leak", steady(g.n(t)))
    if gc_cases:
        P4 = 4 * HOUR
        A4 = whole_amplitude(q(0.8 * T * P4, unit), P4, S)
        t = g.up(W + G + P4 + F)
        healthy("healthy-sawtooth-long",
                f"a {dur(P4)} GC cycle (amplitude {amt(A4, mem)}) whose in-cycle slope is 0.8x "
                "threshold (no window shorter than the cycle tells a steeper one from a leak)",
                add(constant(base, step_s=S, n=g.n(t)), saw(g.n(t), A4, P4)))
        t = g.up(e + W + G + F + PL)
        healthy("healthy-sawtooth-mid",
                f"the long GC cycle of leak-long-gc (period {dur(PL)}, amplitude "
                f"{amt(AL, mem)}, in-cycle slope 2x threshold) without the leak",
                add(constant(base, step_s=S, n=g.n(t)), saw(g.n(t), AL, PL)))
    R = g.up(W / 4)
    H = q(3 * U, unit)
    t = g.up(2 * W + G + F)
    n = g.n(t)
    healthy("healthy-warmup-deploy",
            f"a new series (a deploy) warming up from {amt(base / 4, mem)} to "
            f"{amt(base + H, mem)} over {dur(R)}, then steady under the sawtooth",
            add(warmup(base + H, R, 0, q(base / 4, unit), step_s=S, n=n), saw(n)))
    t = g.up(e + R + W + G + F)
    n = g.n(t)
    healthy("healthy-restart", f"a restart at {dur(e)}: drops to {amt(base / 5, mem)}, warms "
            f"up over {dur(R)} back to the baseline",
            restart(steady(n), e, q(base / 5, unit), R, step_s=S))
    t = g.up(e + W + G + F)
    n = g.n(t)
    step = q(2 * U, unit)
    healthy("healthy-step-up", f"a one-off step up by {amt(step, mem)} at {dur(e)}: a "
            "whole-window slope of up to 3x threshold, but only one half of the window ever "
            "contains the step", add(steady(n), step_change(step, e, step_s=S, n=n)))
    amp = 0.8 * thr * DAY / (2 * math.pi * HOUR)
    steep = e + W // 2
    healthy("healthy-daily-curve", f"a daily traffic curve (amplitude {amt(amp, mem)}, "
            f"steepest slope 0.8x threshold at {dur(steep)}) under the sawtooth",
            add(steady(n), daily_curve(amp, DAY, -steep, step_s=S, n=n)))
    t = g.up(e + 60 * MIN + W + G + F)
    n = g.n(t)
    vals = with_gaps(steady(n), [(e, e + 10 * MIN), (e + 30 * MIN, e + 60 * MIN)], step_s=S)
    vals[e // S] = STALE  # the target went away: Prometheus writes a staleness marker
    healthy("healthy-gaps", "scrape gaps of 10m (starting with a staleness marker) and 30m "
            "(longer than gc_period) in a steady sawtooth", vals)
    if gc_cases and P:
        # The worst gaps for troughs: each starts at a trough that lies a sample or two past a
        # subquery step (a multiple of gc_period), so the step's window holds only the end of
        # the previous cycle (a "trough" up to a whole amplitude too high) unless troughs need
        # a whole period of samples; and the gaps lie half a window apart, at the ends of both
        # halves at once.
        A2 = whole_amplitude(q(10 * U, unit), P, S)
        off = max(1, min(2, P // S - 1)) * S
        g1 = off + -(-(e - off) // P) * P
        gl = g.up(max(30 * MIN, 2 * G))
        t = g.up(g1 + W // 2 + gl + W + G + F)
        n = g.n(t)
        vals = with_gaps(add(constant(base, step_s=S, n=n),
                             sawtooth(0, A2, P, (P - off) % P, step_s=S, n=n)),
                         [(g1, g1 + gl), (g1 + W // 2, g1 + W // 2 + gl)], step_s=S)
        healthy("healthy-gaps-aligned", f"a sawtooth of amplitude {amt(A2, mem)} with two "
                f"{dur(gl)} gaps {dur(W // 2)} apart, each starting at a trough just past a "
                "gc_period step: only windows with a whole GC period of samples give troughs",
                vals)
    return tuple(out)


def unlimited_shapes(g: Grid, d: int, app: list[Sample], zero: float, other: bool
                     ) -> list[Shape]:
    """Silent cases for a limit series that is 0/-1, absent, or another pod's."""
    out = [Shape("healthy-limit-zero", f"memory far above any limit, but the limit series is "
                 f"{zero:g} (unlimited)", _t(app), d, False, limit="zero"),
           Shape("healthy-limit-absent", "memory far above any limit, but there is no limit "
                 "series (no limit set)", _t(app), d, False, limit="absent")]
    if other:
        out.append(Shape("healthy-other-pod", "memory far above the limit of another "
                         "pod/container, the only limit series", _t(app), d, False,
                         limit="other"))
    return out


@functools.lru_cache(maxsize=256)
def ratio_shapes(S: int, G: int, W: int, F: int, thr: float, lim: int, unlimited: bool,
                 zero: float, other: bool, fmts: tuple[str, ...]) -> tuple[Shape, ...]:
    g = Grid(S)
    W = max(W, G)  # the rule's window spans at least one GC period
    target = (thr + 1) / 2 if thr < 1 else thr + 0.05
    step = max(1, lim // 1000)
    value, lv = first_stable(fmts, [((round(target * lim) + k * step) / lim,
                                     round(target * lim) + k * step) for k in range(50)])
    t = g.up(W + F + 5 * MIN)
    n = g.n(t)
    out = [Shape("over-ratio", f"memory steady at {value:.4g} of the limit (threshold "
                 f"{thr:g}): fires after W+F; $value is the exact ratio",
                 _t(constant(lv, step_s=S, n=n)), t, True, value)]
    P = gc_cycle(S, G)
    if P:
        hi = round(max(target + 0.05, min(0.99, (thr + 3) / 4)) * lim)
        out.append(Shape("over-ratio-gc", f"a sawtooth whose troughs stay at {target:.3g} of the "
                         "limit: firing after W+F",
                         _t(sawtooth(lv, hi - lv, P, step_s=S, n=n)), t, True))
    d = g.up(W + F + max(2 * G, 30 * MIN))
    n = g.n(d)
    low, peak = round(0.9 * thr * lim), round(max(0.98, thr + 0.1) * lim)
    vals = sawtooth(low, peak - low, P, step_s=S, n=n) if P else constant(low, step_s=S, n=n)
    out.append(Shape("healthy-steady-high", f"high but steady: troughs at {0.9 * thr:.3g} of "
                     f"the limit, under the threshold, sawtooth peaks at {peak / lim:.3g}",
                     _t(vals), d, False))
    if unlimited:
        out += unlimited_shapes(g, d, constant(round(max(0.95, thr + 0.1) * lim), step_s=S, n=n),
                                zero, other)
    return tuple(out)


@functools.lru_cache(maxsize=256)
def forecast_shapes(S: int, G: int, W: int, F: int, Hz: int, lim: int,
                    growth_thr: float | None, unlimited: bool, zero: float, other: bool,
                    fmts: tuple[str, ...]) -> tuple[Shape, ...]:
    g = Grid(S)
    # A slow leak (half the growth threshold, so memory-growth misses it) that reaches the
    # limit Hz after the window fills: the forecast crosses 100% as soon as it may fire.
    oom = g.up(W) + Hz
    slow = 0.5 * growth_thr / HOUR if growth_thr else lim / (2 * oom)
    r = g.whole(min(slow, 0.9 * lim / oom), at_least=False)
    start = max(0, round(lim - r * oom))
    oom_at = (lim - start) / r
    first = g.up(max(oom_at - Hz, W + 2 * G) + F + 5 * MIN)
    value, tf = first_stable(fmts, [((start + r * t + r * Hz) / lim, t)
                                    for t in range(first, first + 50 * g.step, g.step)])
    t = int(tf)
    n = g.n(t)
    when = f"before the OOM at {dur(round(oom_at))}" if t < oom_at else "(after the OOM)"
    quiet = growth_thr is not None and r * HOUR < growth_thr
    out = [Shape(
        "slow-leak", f"a slow leak of {amt(r * HOUR, True)}/h"
        + (" (half the memory-growth threshold)" if growth_thr else "")
        + f" from {start / lim:.0%} of the limit: fires at {dur(t)}, {when}; $value is the "
        "exact forecast", _t(add(constant(start, step_s=S, n=n), linear_leak(r, step_s=S, n=n))),
        t, True, value, quiet_growth=quiet)]
    P = gc_cycle(S, G)
    if P:
        # Under a sawtooth the peaks are a staircase whose fitted slope is off by up to ~20%:
        # the peaks start at 50% of the limit and reach it Hz/2 after the assertion.
        A = whole_amplitude(round(0.1 * lim), P, S)
        t2 = g.up(W + 3 * G + F + 5 * MIN)
        oom2 = t2 + Hz // 2
        r2 = g.whole(0.5 * lim / oom2)
        n2 = g.n(t2)
        out.append(Shape(
            "leak-gc", f"a leak of {amt(r2 * HOUR, True)}/h under a sawtooth (amplitude 10% of "
            f"the limit) from 50% of the limit: the peaks reach it at {dur(oom2)}; firing at "
            f"{dur(t2)}", _t(add(sawtooth(round(0.5 * lim) - A, A, P, step_s=S, n=n2),
                                 linear_leak(r2, step_s=S, n=n2))), t2, True))
    d = g.up(2 * W + F + G)
    n = g.n(d)
    lo, hi = round(0.85 * lim), round(0.97 * lim)
    vals = sawtooth(lo, hi - lo, P, step_s=S, n=n) if P else constant(lo, step_s=S, n=n)
    out.append(Shape("healthy-steady-high", "steady at 85% of the limit, sawtooth peaks at 97%",
                     _t(vals), d, False))
    R = g.up(min(20 * MIN, W / 3))
    out.append(Shape("healthy-warmup-deploy", f"a new series (a deploy) warming up from 10% to "
                     f"70% of the limit over {dur(R)}",
                     _t(warmup(round(0.7 * lim), R, 0, round(0.1 * lim), step_s=S, n=n)),
                     d, False))
    e = g.up(W + G)
    d2 = g.up(e + R + W + G + F)
    out.append(Shape("healthy-restart", f"steady at 85% of the limit, restarted at {dur(e)}: "
                     f"back from 10% over {dur(R)}",
                     _t(restart(constant(round(0.85 * lim), step_s=S, n=g.n(d2)), e,
                                round(0.1 * lim), R, step_s=S)), d2, False))
    if unlimited:
        fast = g.whole(lim / Hz)
        out += unlimited_shapes(g, d, add(constant(round(0.5 * lim), step_s=S, n=n),
                                          linear_leak(fast, step_s=S, n=n)), zero, other)
    return tuple(out)
