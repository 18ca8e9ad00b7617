"""The scenario corpus of the detection benchmark (bench/detection.py).

Each scenario is memory behaviour, never a rule's internals: bytes (or a count of goroutines,
threads, handles) over time at a one-minute scrape, integers per sample, a container limit
`LIMIT` and a GC cycle, built with rulegen.synth. What each scenario is expected to do is
stated in the same terms: silent, or fires within a time after the behaviour starts, or fires
some time before the GC peaks reach the limit (the OOM kill).

A scenario runs as one or more "pods": series with an identity of their own (a deploy is an old
pod whose series stop and a new pod whose series start). Scenarios whose alerts are about the
whole service (scrape gaps, telemetry loss) or that need an inventory setting of their own
(gc_period: 2h) run in a service of their own (`service`); all others run side by side in the
service "app", told apart by their identity labels.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from rulegen.families import FAMILIES
from rulegen.synth import (
    STALE,
    Sample,
    Series,
    add,
    constant,
    daily_curve,
    linear_leak,
    noise,
    sawtooth,
    stale_after,
    step_change,
    stepwise_leak,
    with_gaps,
)

S = 60  # scrape interval and sample step (s)
MIN, HOUR, DAY = 60, 3600, 86400
MIB = 1 << 20
GROWTH_WINDOW = int(FAMILIES["memory-growth"].defaults["window"])  # type: ignore[call-overload]
LIMIT = 1 << 30  # the container limit of every scenario (1GiB): static and metric sources alike
T_MEM = 10 * MIB  # the memory-growth threshold the leak rates are multiples of (bytes/h)
HORIZON = 120 * HOUR  # how far a leak is followed to find when it reaches the limit

# Background levels of the count signals (a scenario about memory keeps them steady).
COUNT_BASE = {"goroutines": 200, "threads": 40, "handles": 100}
# The count leaks: per hour, three times the counts' default thresholds (100, 20, 50 per hour).
COUNT_LEAK = {"goroutines": 300, "threads": 60, "handles": 150}

LEAK_ALERTS = ("MemoryLeakSuspected", "MemoryNearLimit", "MemoryLimitExhaustionForecast",
               "GoroutineLeakSuspected", "ThreadLeakSuspected", "HandleLeakSuspected")
LIMIT_ALERTS = ("MemoryLimitExhaustionForecast", "MemoryNearLimit")
TELEMETRY = "LeakTelemetryMissing"
COUNT_ALERT = {"goroutines": "GoroutineLeakSuspected", "threads": "ThreadLeakSuspected",
               "handles": "HandleLeakSuspected"}


@dataclass(frozen=True)
class Pod:
    """One pod's series. `memory` (bytes) goes to every memory signal of the convention (heap,
    resident, runtime_used), `counts` to those count signals (a pod without them has none; the
    service's other pods keep the count signals present). `None` is no sample, `STALE` the
    series ending. The limit series is present from the pod's first sample on; an old pod's
    (suffix "-old") goes with its memory series."""

    suffix: str  # appended to the scenario's identity ("" for the pod that lives on)
    memory: Series | None  # None: a scenario about counts only (no memory series, no limit)
    counts: dict[str, Series] = field(default_factory=dict)


@dataclass(frozen=True)
class Expect:
    """One judged (or informational) expectation.

    kind "silent": none of the alerts fires in [frm, end] (`allow`: alerts that may).
    kind "fires": one of `alerts` (empty: any leak alert) fires in [start, end], within `within`
    seconds of the start and, with `lead`, at least `lead` seconds before the OOM.
    kind "info": reported, not judged (`alerts` says which ones the report is about).
    `needs_limit`: judged only where the service has a memory limit (else informational).
    `needs_collections`: judged only where the convention shows when the runtime collects (a
    major-collection counter, or a heap metric reported after each collection); elsewhere
    the rules see a raw sawtooth and only a declared gc_period tells them its period."""

    kind: str
    text: str
    alerts: tuple[str, ...] = ()
    allow: tuple[str, ...] = ()
    frm: int | None = None  # silent: from this time (default: 0)
    within: int | None = None
    lead: int | None = None
    needs_limit: bool = False
    needs_collections: bool = False


@dataclass(frozen=True)
class Scenario:
    id: str
    family: str  # for the report: healthy, GC cycle, warm-up, daily, leak, count leak, ...
    title: str  # what the series show
    start: int  # when the behaviour starts (s): latencies are counted from here
    end: int  # the last time judged (s): the end of the series, or the OOM
    pods: tuple[Pod, ...]
    expects: tuple[Expect, ...]
    signal: str = "memory"  # memory | goroutines | threads | handles: where it applies
    service: str = "app"  # the service it runs in (app: side by side with the others)
    gc_period: str | None = None  # the inventory's gc_period for that service
    oom: int | None = None  # first sample at or above LIMIT (None: not within HORIZON)
    everywhere: bool = False  # runs on every combination, not only on the full-corpus ones
    on_none: bool = False  # runs on the combinations without a limit too


# ----------------------------------------------------------------------------- generators


def n_of(end: int) -> int:
    return end // S + 1


def gc(base: float, amp: float, period: int, n: int, phase: int = 0) -> Series:
    """A GC sawtooth from `base` up to `base + amp` every `period` (a multiple of S)."""
    return sawtooth(base, amp, period, phase, step_s=S, n=n)


def after_gc(series: Sequence[Sample]) -> Series:
    """What a post-GC metric (`post_gc` in the catalog: the JVM's
    `jvm.memory.used_after_last_gc`) reports of this memory: the level right after the
    last GC, held until the next. A GC is a drop from one sample to the next; before the first
    the series' first level is held. A gap is a gap; after a staleness marker (the series
    ended) the next sample starts afresh."""
    out: Series = []
    prev: float | None = None
    held: float | None = None
    for v in series:
        if not isinstance(v, float):
            out.append(v)
            if v is STALE:
                prev = held = None
            continue
        if held is None or (prev is not None and v < prev):
            held = v
        prev = v
        out.append(held)
    return out


def aliased_gc(base: float, amp: float, n: int, seed: int) -> Series:
    """A GC cycle shorter than the scrape: each sample lands at a random point of the cycle."""
    rng = random.Random(seed)
    return [float(base + round(rng.uniform(0, amp))) for _ in range(n)]


def pct(p: float) -> float:
    return round(p / 100 * LIMIT)


def whole(rate_per_h: float) -> float:
    """Bytes per second whose per-minute increment is whole (so a ramp is one token)."""
    return round(rate_per_h / 60) / 60


def first_at_or_above(series: Sequence[Sample], level: float) -> int | None:
    for i, v in enumerate(series):
        if isinstance(v, float) and v >= level:
            return i * S
    return None


def capped(series: Series, end: int) -> Series:
    return series[: n_of(end)]


def counts_leak(kind: str, start: int, n: int, per_h: float) -> Series:
    return add(constant(COUNT_BASE[kind], step_s=S, n=n),
               [math.floor(v) for v in linear_leak(per_h / 3600, start, step_s=S, n=n)])


def restart_loop(steady: Series, first: int, last: int, lo: float, ramp: int,
                 seed: int) -> Series:
    """Crashes every 20-30 min (seeded) from `first` to `last`: each drops to `lo` and warms
    up linearly over `ramp` back onto `steady`."""
    rng = random.Random(seed)
    crashes, t = [], first
    while t <= last:
        crashes.append(t)
        t += rng.randrange(20, 31) * MIN
    out: Series = []
    for i, v in enumerate(steady):
        t = i * S
        past = [c for c in crashes if c <= t]
        if not past or not isinstance(v, float):
            out.append(v)
            continue
        d = t - past[-1]
        out.append(v if d >= ramp else float(round(lo + (v - lo) * d / ramp)))
    return out


def new_pod(curve: Series, at: int, lo: float, ramp: int) -> Series:
    """A new pod's series from `at` on: it warms up from `lo` onto `curve` over `ramp`."""
    out: Series = []
    for i, v in enumerate(curve):
        t = i * S
        if t < at or not isinstance(v, float):
            out.append(None)
        else:
            out.append(float(round(lo + (v - lo) * min(1.0, (t - at) / ramp))))
    return out


# ------------------------------------------------------------------------------- corpus

Builder = Callable[[], Scenario]
CORPUS: list[Builder] = []


def scenario(fn: Builder) -> Builder:
    CORPUS.append(fn)
    return fn


SILENT = Expect("silent", "silent")
EVENT = 3 * HOUR  # when the event of a short scenario happens (3h of history before it)
SHORT = 8 * HOUR  # how long a short healthy scenario runs


def quiet(frm: int = 0, allow: tuple[str, ...] = (), text: str = "silent") -> Expect:
    return Expect("silent", text, allow=allow, frm=frm)


def steady(n: int) -> Series:
    """The healthy baseline of most scenarios: a 5m GC cycle, troughs 40%, peaks 50%."""
    return gc(pct(40), pct(10), 5 * MIN, n)


# --- healthy steady series, noise, GC cycles (under the runtime's default gc_period)


@scenario
def steady_flat() -> Scenario:
    return Scenario("steady-flat", "healthy", "flat at 40% of the limit", 0, SHORT,
                    (Pod("", constant(pct(40), step_s=S, n=n_of(SHORT))),), (SILENT,))


def _gc_cycle(period: int, label: str, amp_pct: float, end: int, everywhere: bool = False
              ) -> Builder:
    def build() -> Scenario:
        n = n_of(end)
        if period < 2 * S:
            mem = aliased_gc(pct(40), pct(amp_pct), n, seed=period)
            what = "faster than the scrape: each sample at a random point of the cycle"
        else:
            mem = gc(pct(40), pct(amp_pct), period, n)
            what = f"in-cycle rise {amp_pct * LIMIT / 100 / MIB / (period / HOUR):.0f}MiB/h"
        # A cycle longer than the growth window rises steadily through whole windows: told
        # from a leak only where the collections are seen (docs/gc-periods.md).
        seen = period > GROWTH_WINDOW
        return Scenario(f"gc-{label}", "GC cycle",
                        f"GC cycle {label}, troughs at 40%, peaks at {40 + amp_pct:g}% ({what}); "
                        "gc_period not set (the runtime's default)"
                        + ("; judged where the collections are seen" if seen else ""),
                        0, end, (Pod("", mem),),
                        (Expect("silent", "silent where the collections are seen (a major-GC "
                                "counter, a post-GC heap)" if seen else "silent",
                                needs_collections=seen),),
                        everywhere=everywhere)
    build.__name__ = f"gc_{label}"
    return build


for _p, _l, _a, _e in ((MIN, "1m", 10, SHORT), (5 * MIN, "5m", 10, SHORT),
                       (15 * MIN, "15m", 20, SHORT), (30 * MIN, "30m", 20, SHORT),
                       (HOUR, "1h", 20, 10 * HOUR), (2 * HOUR, "2h", 20, 12 * HOUR),
                       (4 * HOUR, "4h", 20, 16 * HOUR)):
    scenario(_gc_cycle(_p, _l, _a, _e, everywhere=_l == "5m"))


@scenario
def gc_peaks_near_limit() -> Scenario:
    """Healthy memory whose GC peaks come close to the limit: a heap let grow near it before
    each GC, as Go's memory limit does by design ("the Go runtime ... uses the memory limit as
    a target": https://go.dev/doc/gc-guide#Memory_limit) or a JVM whose max heap is most of the
    container. Nothing is wrong until the baseline rises."""
    n = n_of(SHORT)
    return Scenario("gc-peaks-near-limit", "healthy",
                    "GC cycle 15m, troughs at 45%, peaks at 90% of the limit (a heap let grow "
                    "close to the limit before each GC: GOMEMLIMIT, a max heap near the "
                    "container limit); gc_period not set", 0, SHORT,
                    (Pod("", gc(pct(45), pct(45), 15 * MIN, n)),), (SILENT,), everywhere=True)


@scenario
def noise_5pct() -> Scenario:
    n = n_of(SHORT)
    mem = add(steady(n), noise(round(0.05 * pct(40)), 7, step_s=S, n=n))
    return Scenario("noise-5pct", "healthy", "5m GC cycle 40-50% plus noise of ±5% of the level",
                    0, SHORT, (Pod("", mem),), (SILENT,))


# --- one-off events on a healthy series


def _step(delta_pct: float, name: str, what: str) -> Builder:
    def build() -> Scenario:
        n = n_of(SHORT)
        mem = add(steady(n), step_change(pct(delta_pct), EVENT, step_s=S, n=n))
        return Scenario(name, "event", f"5m GC cycle 40-50%; at 3h one step {what} by "
                        f"{abs(delta_pct):g}% of the limit, then flat", EVENT, SHORT,
                        (Pod("", mem),), (SILENT,))
    build.__name__ = name.replace("-", "_")
    return build


scenario(_step(15, "step-up", "up"))
scenario(_step(-15, "step-down", "down"))


def _restart(ramp: int, label: str, everywhere: bool = False) -> Builder:
    def build() -> Scenario:
        n = n_of(SHORT)
        base = steady(n)
        mem: Series = [v if i * S < EVENT or not isinstance(v, float) else
                       float(round(pct(10) + (v - pct(10)) * min(1, (i * S - EVENT) / ramp)))
                       for i, v in enumerate(base)]
        return Scenario(f"restart-warmup-{label}", "restart",
                        f"5m GC cycle 40-50%; at 3h the process restarts (same pod, same "
                        f"series): drops to 10%, warms up over {label} back to its level",
                        EVENT, SHORT, (Pod("", mem),), (SILENT,), everywhere=everywhere)
    build.__name__ = f"restart_{label}"
    return build


scenario(_restart(15 * MIN, "15m"))
scenario(_restart(HOUR, "60m", everywhere=True))


@scenario
def restart_loop_20_30m() -> Scenario:
    n = n_of(SHORT)
    mem = restart_loop(steady(n), 2 * HOUR, 6 * HOUR, pct(10), 10 * MIN, seed=3)
    return Scenario("restart-loop", "restart",
                    "5m GC cycle 40-50%; from 2h to 6h it crashes every 20-30 min (same pod) "
                    "and warms up over 10 min back to its level", 2 * HOUR, SHORT,
                    (Pod("", mem),), (SILENT,))


# --- deploys: a new series (new pod) that warms up, then stays flat


def _deploy(ramp: int, label: str, judged: bool, everywhere: bool = False) -> Builder:
    def build() -> Scenario:
        end = EVENT + ramp + 4 * HOUR  # four hours flat after the warm-up
        n = n_of(end)
        base = steady(n)
        old = stale_after(base, EVENT, step_s=S)
        new = new_pod(base, EVENT, pct(10), ramp)
        exp = (Expect("silent", "no alert at all") if judged else
               Expect("info", "reported: which alerts fire"))
        return Scenario(f"deploy-warmup-{label}", "deploy",
                        f"rolling deploy at 3h: the old pod's series stop, a new pod's series "
                        f"start at 10% and warm up over {label} to 40-50% (5m GC cycle), then "
                        "stay flat", EVENT, end, (Pod("-old", old), Pod("", new)), (exp,),
                        everywhere=everywhere)
    build.__name__ = f"deploy_{label}"
    return build


for _r, _l in ((5 * MIN, "5m"), (15 * MIN, "15m"), (30 * MIN, "30m"), (HOUR, "60m")):
    scenario(_deploy(_r, _l, True, everywhere=_l == "60m"))
scenario(_deploy(90 * MIN, "90m", False))


# --- daily traffic curves (two days: the first without history, the second with a day of it)


def _daily(amp_pct: float, with_noise: bool) -> Series:
    n = n_of(48 * HOUR)
    curve = daily_curve(pct(amp_pct), DAY, -12 * HOUR, step_s=S, n=n)
    parts = [gc(pct(30), pct(5), 5 * MIN, n),
             [float(round(v)) if isinstance(v, float) else v for v in curve]]
    if with_noise:
        parts.append(noise(round(0.02 * LIMIT), 11, step_s=S, n=n))
    return add(*parts)


DAY_EXPECTS = (Expect("info", "day 1 (no history): may fire"),
               quiet(DAY, text="silent on day 2 (a day of history)"))


@scenario
def daily_curve_gc() -> Scenario:
    return Scenario("daily-curve", "daily",
                    "two days of a daily traffic curve: 30% ±15% of the limit (low at 6h, "
                    "steepest rise 40MiB/h at 12h and 36h), 5m GC cycle of 5%", 0, 48 * HOUR,
                    (Pod("", _daily(15, False)),), DAY_EXPECTS)


@scenario
def daily_curve_noisy() -> Scenario:
    return Scenario("daily-curve-noisy", "daily",
                    "daily-curve with a stronger swing (±20%, steepest rise 54MiB/h) and noise "
                    "of ±2% of the limit", 0, 48 * HOUR, (Pod("", _daily(20, True)),),
                    DAY_EXPECTS)


@scenario
def daily_leak_day2() -> Scenario:
    start = 28 * HOUR
    long = add(_daily(15, False), linear_leak(whole(3 * T_MEM), start, step_s=S,
                                              n=n_of(48 * HOUR)))
    oom = first_at_or_above(long, LIMIT)
    end = min(oom or 48 * HOUR, 48 * HOUR)
    return Scenario("daily-leak-day2", "daily",
                    "daily-curve, plus a leak of 30MiB/h (3x) from 28h (day 2)", start, end,
                    (Pod("", capped(long, end)),),
                    (Expect("fires", "a leak alert fires"),), oom=oom)


@scenario
def daily_deploy_day2() -> Scenario:
    at, end = 30 * HOUR, 48 * HOUR
    curve = _daily(15, False)
    return Scenario("daily-deploy-day2", "daily",
                    "daily-curve; at 30h a deploy: the new pod (no history of its own) warms up "
                    "over 15m onto the curve", at, end,
                    (Pod("-old", stale_after(curve, at, step_s=S)),
                     Pod("", new_pod(curve, at, pct(10), 15 * MIN))),
                    (Expect("info", "reported: a new pod on a daily curve has no day-ago "
                                    "history of its own"),))


# --- leaks


def _leak_series(rate_bps: float, start: int, base_pct: float = 40, amp_pct: float = 10,
                 period: int = 5 * MIN, extra: Series | None = None) -> tuple[Series, int | None]:
    n = n_of(HORIZON)
    mem = add(gc(pct(base_pct), pct(amp_pct), period, n),
              linear_leak(rate_bps, start, step_s=S, n=n))
    if extra is not None:
        mem = add(mem, extra + [0.0] * (n - len(extra)))
    return mem, first_at_or_above(mem, LIMIT)


LEAK_START = 3 * HOUR
INFO_LEAK = Expect("info", "reported: latency, time left before the OOM")


@scenario
def leak_fast() -> Scenario:
    mem, oom = _leak_series(whole(50_000 * 3600), LEAK_START)
    end = min(oom or LEAK_START + 6 * HOUR, LEAK_START + 6 * HOUR)
    return Scenario("leak-fast-50kB/s", "leak",
                    "5m GC cycle 40-50%, then a leak of 50kB/s (172MiB/h) from 3h", LEAK_START,
                    end, (Pod("", capped(mem, end)),),
                    (Expect("fires", "a leak alert fires within 3h", within=3 * HOUR),), oom=oom,
                    everywhere=True)


def _leak_rate(k: float) -> Builder:
    def build() -> Scenario:
        mem, oom = _leak_series(whole(k * T_MEM), LEAK_START)
        end = min(oom or 24 * HOUR, 24 * HOUR)
        return Scenario(f"leak-{k:g}x", "leak rate",
                        f"5m GC cycle 40-50%, then a leak of {k * T_MEM / MIB:g}MiB/h ({k:g}x "
                        "10MiB/h) from 3h", LEAK_START, end, (Pod("", capped(mem, end)),),
                        (INFO_LEAK,), oom=oom, everywhere=k == 10, on_none=True)
    build.__name__ = f"leak_{k:g}x"
    return build


for _k in (0.5, 1.0, 3.0, 10.0):
    scenario(_leak_rate(_k))


@scenario
def leak_stepwise() -> Scenario:
    steps = stepwise_leak(round(3 * T_MEM / 4), 15 * MIN, LEAK_START, step_s=S, n=n_of(HORIZON))
    mem, oom = _leak_series(0, LEAK_START, extra=steps)
    end = min(oom or 24 * HOUR, 24 * HOUR)
    return Scenario("leak-stepwise-3x", "leak",
                    "5m GC cycle 40-50%; from 3h the baseline jumps by 7.5MiB every 15 min "
                    "(30MiB/h, 3x)", LEAK_START, end, (Pod("", capped(mem, end)),),
                    (INFO_LEAK,), oom=oom)


@scenario
def leak_noisy() -> Scenario:
    mem, oom = _leak_series(whole(3 * T_MEM), LEAK_START,
                            extra=noise(round(0.05 * pct(40)), 5, step_s=S, n=n_of(24 * HOUR)))
    end = min(oom or 24 * HOUR, 24 * HOUR)
    return Scenario("leak-3x-noisy", "leak", "leak-3x with noise of ±5% of the level",
                    LEAK_START, end, (Pod("", capped(mem, end)),), (INFO_LEAK,), oom=oom)


@scenario
def leak_long_gc_30m() -> Scenario:
    mem, oom = _leak_series(whole(3 * T_MEM), LEAK_START, amp_pct=20, period=30 * MIN)
    end = min(oom or 24 * HOUR, 24 * HOUR)
    return Scenario("leak-3x-gc-30m", "leak under long GC",
                    "GC cycle 30m (40-60%), then a leak of 30MiB/h from 3h; gc_period not set",
                    LEAK_START, end, (Pod("", capped(mem, end)),), (INFO_LEAK,), oom=oom)


@scenario
def healthy_gc_2h_declared() -> Scenario:
    end = 12 * HOUR
    return Scenario("gc-2h-declared", "GC cycle",
                    "GC cycle 2h, troughs at 50%, peaks at 70%; gc_period 2h declared", 0, end,
                    (Pod("", gc(pct(50), pct(20), 2 * HOUR, n_of(end))),), (SILENT,),
                    service="gc2h", gc_period="2h", everywhere=True)


def _gc2h_leak(declared: bool) -> Builder:
    def build() -> Scenario:
        # troughs at 50%, peaks at 70%; the leak starts mid-cycle and brings the peaks to the
        # limit about 9.5h later
        start = 4 * HOUR + 30 * MIN
        rate = whole(0.3 * LIMIT / (9.5 * HOUR - 30 * MIN) * 3600)
        mem, oom = _leak_series(rate, start, base_pct=50, amp_pct=20, period=2 * HOUR)
        end = min(oom or 24 * HOUR, 24 * HOUR)
        exp = (Expect("fires", "MemoryLimitExhaustionForecast or MemoryNearLimit at least 1h "
                      "before the peaks reach the limit", alerts=LIMIT_ALERTS, lead=HOUR,
                      needs_limit=True) if declared else INFO_LEAK)
        return Scenario("leak-gc-2h" + ("" if declared else "-default"), "leak under long GC",
                        f"GC cycle 2h (troughs 50%, peaks 70%), a leak of "
                        f"{rate * 3600 / MIB:.1f}MiB/h from 4h30m: the peaks reach the limit "
                        f"{(oom - start) / HOUR if oom else 0:.1f}h later; gc_period "
                        + ("2h declared" if declared else "not set (the runtime's default)"),
                        start, end, (Pod("", capped(mem, end)),), (exp,),
                        service="gc2h" if declared else "app",
                        gc_period="2h" if declared else None, oom=oom, everywhere=declared)
    build.__name__ = "leak_gc_2h" + ("" if declared else "_default")
    return build


scenario(_gc2h_leak(True))
scenario(_gc2h_leak(False))


# --- goroutine, thread, handle leaks


def _count_leak(kind: str) -> Builder:
    def build() -> Scenario:
        end = LEAK_START + 6 * HOUR
        series = counts_leak(kind, LEAK_START, n_of(end), COUNT_LEAK[kind])
        return Scenario(f"{kind}-leak", "count leak",
                        f"{kind} steady at {COUNT_BASE[kind]}, then +{COUNT_LEAK[kind]}/h from "
                        "3h (this pod has no memory series)", LEAK_START, end,
                        (Pod("", None, {kind: series}),),
                        (Expect("fires", f"{COUNT_ALERT[kind]} fires within 6h",
                                alerts=(COUNT_ALERT[kind],), within=6 * HOUR),),
                        signal=kind)
    build.__name__ = f"{kind}_leak"
    return build


for _kind in ("goroutines", "threads", "handles"):
    scenario(_count_leak(_kind))


# --- scrape gaps and telemetry loss (services of their own: their alerts are per service)


@scenario
def scrape_gaps() -> Scenario:
    end = 9 * HOUR
    n = n_of(end)
    gaps = [(2 * HOUR, 2 * HOUR + 10 * MIN), (3 * HOUR + 30 * MIN, 4 * HOUR),
            (5 * HOUR + 30 * MIN, 6 * HOUR + 15 * MIN)]
    mem = with_gaps(steady(n), gaps, step_s=S)
    mem[n_of(2 * HOUR) - 1] = STALE  # the first gap starts with a staleness marker
    counts = {k: with_gaps(constant(v, step_s=S, n=n), gaps, step_s=S)
              for k, v in COUNT_BASE.items()}
    return Scenario("scrape-gaps", "gaps",
                    "5m GC cycle 40-50%; every series of the service misses scrapes for 10m at "
                    "2h (starting with a staleness marker), 30m at 3h30m and 45m at 5h30m",
                    2 * HOUR, end, (Pod("", mem, counts),),
                    (quiet(allow=(TELEMETRY,), text="no leak alert (LeakTelemetryMissing may "
                                                    "fire during the gaps)"),
                     Expect("info", "reported: LeakTelemetryMissing", alerts=(TELEMETRY,))),
                    service="gaps")


@scenario
def telemetry_loss() -> Scenario:
    end, at = 4 * HOUR, 2 * HOUR + 30 * MIN
    n = n_of(end)
    mem = stale_after(steady(n), at, step_s=S)
    counts = {k: stale_after(constant(v, step_s=S, n=n), at, step_s=S)
              for k, v in COUNT_BASE.items()}
    return Scenario("telemetry-loss", "telemetry",
                    "5m GC cycle 40-50%; at 2h30m every series of the service stops (the limit "
                    "series stays)", at, end, (Pod("", mem, counts),),
                    (Expect("fires", "LeakTelemetryMissing fires", alerts=(TELEMETRY,)),
                     quiet(allow=(TELEMETRY,), text="no other alert")),
                    service="telemetry", everywhere=True)


def corpus() -> list[Scenario]:
    out = [b() for b in CORPUS]
    ids = [s.id for s in out]
    assert len(ids) == len(set(ids)), ids
    return out
