"""Sample types, the time grid, shapes and combinators.

Sample ``i`` of a series sits at ``t = i * step_s`` seconds (``step_s`` = the test group's
``interval``). Values are in signal units: bytes for memory, a count for threads/goroutines.
Every shape takes ``step_s`` and exactly one of ``n`` (number of samples) or ``duration_s``
(samples cover ``t = 0 … duration_s`` inclusive, so ``n = duration_s / step_s + 1``).
"""

from __future__ import annotations

import enum
import math
import random
from collections.abc import Callable, Iterable, Sequence
from typing import Literal, TypeAlias


class _Stale(enum.Enum):
    STALE = "stale"

    def __repr__(self) -> str:
        return "STALE"


STALE: Literal[_Stale.STALE] = _Stale.STALE
"""The staleness marker (``stale`` in promtool notation)."""

Sample: TypeAlias = "float | None | Literal[_Stale.STALE]"
"""A value, ``None`` (missing sample, ``_``) or ``STALE``."""
Series: TypeAlias = "list[Sample]"

_EPS = 1e-9  # relative tolerance for "t sits exactly on a period boundary"


def n_samples(step_s: float, n: int | None = None, duration_s: float | None = None) -> int:
    """``n`` as given, or ``duration_s / step_s + 1`` (samples at 0 … duration_s seconds)."""
    if step_s <= 0:
        raise ValueError(f"step_s must be > 0, got {step_s}")
    if duration_s is None:
        if n is None or n < 0:
            raise ValueError(f"give exactly one of n (>= 0) and duration_s, got n={n}")
        return n
    if n is not None:
        raise ValueError("give exactly one of n and duration_s")
    k = round(duration_s / step_s)
    if k < 0 or abs(k * step_s - duration_s) > _EPS * max(1.0, duration_s):
        raise ValueError(f"duration_s={duration_s} is not a multiple of step_s={step_s}")
    return k + 1


def _build(f: Callable[[float], float], step_s: float, n: int | None, dur: float | None) -> Series:
    return [float(f(i * step_s)) for i in range(n_samples(step_s, n, dur))]


def _ramp(dt: float, ramp_s: float) -> float:
    """Fraction (0 … 1) of a linear ramp done ``dt`` s after it began; ``ramp_s <= 0``: a step."""
    if dt < 0:
        return 0.0
    return 1.0 if dt >= ramp_s else dt / ramp_s


def whole_rate(rate_per_s: float, step_s: float) -> float:
    """The rate nearest ``rate_per_s`` (signal units/s) whose per-sample increment
    ``rate * step_s`` is a whole number, so a leak at that rate encodes to one token."""
    return round(rate_per_s * step_s) / step_s


def whole_amplitude(amplitude: float, period_s: float, step_s: float) -> float:
    """The sawtooth amplitude nearest ``amplitude`` whose per-sample rise is whole, so each
    cycle encodes to one token (``period_s`` should be a multiple of ``step_s``)."""
    rises = round(period_s / step_s) - 1
    return float(round(amplitude / rises) * rises) if rises > 0 else float(amplitude)


# ------------------------------------------------------------------------------------ shapes


def constant(
    level: float, *, step_s: float, n: int | None = None, duration_s: float | None = None
) -> Series:
    """``level`` (signal units) at every sample."""
    return _build(lambda t: level, step_s, n, duration_s)


def sawtooth(
    base: float,
    amplitude: float,
    period_s: float,
    phase_s: float = 0,
    *,
    step_s: float,
    n: int | None = None,
    duration_s: float | None = None,
) -> Series:
    """GC sawtooth. Each ``period_s`` cycle rises linearly from ``base`` (its first sample) to
    ``base + amplitude`` (its last sample, ``period_s - step_s`` later), then drops back to
    ``base`` in one sample. ``phase_s`` shifts the pattern left. Troughs and peaks are exact
    when ``period_s`` is a multiple of ``step_s``; the per-sample increment is
    ``amplitude / (period_s / step_s - 1)``."""
    if period_s <= step_s:
        raise ValueError(f"period_s={period_s} must exceed step_s={step_s}")

    def f(t: float) -> float:
        pos = (t + phase_s) % period_s
        if period_s - pos < _EPS * period_s:
            pos = 0.0
        return base + amplitude * min(1.0, pos / (period_s - step_s))

    return _build(f, step_s, n, duration_s)


def linear_leak(
    rate_per_s: float,
    start_s: float = 0,
    *,
    step_s: float,
    n: int | None = None,
    duration_s: float | None = None,
) -> Series:
    """0 before ``start_s``, then ``rate_per_s * (t - start_s)`` (signal units per second)."""
    return _build(lambda t: rate_per_s * max(0.0, t - start_s), step_s, n, duration_s)


def stepwise_leak(
    step_size: float,
    every_s: float,
    start_s: float = 0,
    *,
    step_s: float,
    n: int | None = None,
    duration_s: float | None = None,
) -> Series:
    """0 until ``start_s + every_s``, then the baseline jumps by ``step_size`` every
    ``every_s`` seconds: ``step_size * floor((t - start_s) / every_s)``."""
    if every_s <= 0:
        raise ValueError(f"every_s must be > 0, got {every_s}")

    def f(t: float) -> float:
        return 0.0 if t < start_s else step_size * math.floor((t - start_s) / every_s + _EPS)

    return _build(f, step_s, n, duration_s)


def warmup(
    target: float,
    ramp_s: float,
    start_s: float = 0,
    from_level: float = 0,
    *,
    step_s: float,
    n: int | None = None,
    duration_s: float | None = None,
) -> Series:
    """Cache warm-up after a (re)start at ``start_s``: ``from_level`` until ``start_s``, a
    linear rise reaching ``target`` at ``start_s + ramp_s``, then ``target``."""
    return _build(
        lambda t: from_level + (target - from_level) * _ramp(t - start_s, ramp_s),
        step_s,
        n,
        duration_s,
    )


def daily_curve(
    amplitude: float,
    period_s: float = 86400,
    phase_s: float = 0,
    *,
    step_s: float,
    n: int | None = None,
    duration_s: float | None = None,
) -> Series:
    """Zero-mean traffic curve ``amplitude * sin(2π (t + phase_s) / period_s)``; add a base."""
    return _build(
        lambda t: amplitude * math.sin(2 * math.pi * (t + phase_s) / period_s),
        step_s,
        n,
        duration_s,
    )


def step_change(
    delta: float,
    at_s: float,
    *,
    step_s: float,
    n: int | None = None,
    duration_s: float | None = None,
) -> Series:
    """0 before ``at_s``, ``delta`` (signal units) from ``at_s`` on."""
    return _build(lambda t: delta if t >= at_s else 0.0, step_s, n, duration_s)


def noise(
    amplitude: int,
    seed: int,
    *,
    step_s: float,
    n: int | None = None,
    duration_s: float | None = None,
) -> Series:
    """Integer noise, uniform in ``[-amplitude, amplitude]`` (signal units), from
    ``random.Random(seed)``: the same seed gives the same series. Encodes ~1 token/sample."""
    rng = random.Random(seed)
    count = n_samples(step_s, n, duration_s)
    return [float(rng.randint(-amplitude, amplitude)) for _ in range(count)]


# ------------------------------------------------------------------------------- combinators


def _map(series: Sequence[Sample], f: Callable[[int, float], float]) -> Series:
    """Apply ``f(index, value)`` to values; ``None`` and ``STALE`` pass through."""
    return [v if v is None or v is STALE else f(i, v) for i, v in enumerate(series)]


def add(a: Sequence[Sample], b: Sequence[Sample], *more: Sequence[Sample]) -> Series:
    """Pointwise sum of equally long series. ``None`` wins, then ``STALE``, then the sum."""
    parts = (a, b, *more)
    if len({len(p) for p in parts}) != 1:
        raise ValueError(f"add: series lengths differ: {[len(p) for p in parts]}")
    out: Series = []
    for column in zip(*parts, strict=True):
        values = [v for v in column if v is not None and v is not STALE]
        if len(values) == len(column):
            out.append(math.fsum(values))
        else:
            out.append(None if None in column else STALE)
    return out


def concat(*series: Sequence[Sample]) -> Series:
    """The series one after another (each starts one step after the previous one ends)."""
    return [v for s in series for v in s]


def scale(series: Sequence[Sample], factor: float) -> Series:
    """Every value times ``factor`` (e.g. MiB to bytes with ``2**20``)."""
    return _map(series, lambda _i, v: v * factor)


def clip_min(series: Sequence[Sample], floor: float) -> Series:
    """Every value raised to at least ``floor`` (e.g. 0, so noise cannot go negative)."""
    return _map(series, lambda _i, v: max(v, floor))


def with_gaps(
    series: Sequence[Sample], gaps: Iterable[tuple[float, float]], *, step_s: float
) -> Series:
    """Samples with ``start_s <= t < end_s`` for any ``(start_s, end_s)`` become ``None``."""
    spans = list(gaps)
    return [None if any(s <= i * step_s < e for s, e in spans) else v for i, v in enumerate(series)]


def stale_after(series: Sequence[Sample], t_s: float, *, step_s: float) -> Series:
    """The series disappears at ``t_s``: the first sample at ``t >= t_s`` becomes ``STALE`` and
    all later ones ``None`` (the length is kept so it still lines up with other series)."""
    out = list(series)
    for i in range(len(out)):
        if i * step_s >= t_s:
            out[i:] = [STALE] + [None] * (len(out) - i - 1)
            break
    return out


def restart(
    series: Sequence[Sample], at_s: float, drop_to: float, ramp_s: float, *, step_s: float
) -> Series:
    """A process restart at ``at_s``: the value drops to ``drop_to`` (signal units) and warms
    up linearly over ``ramp_s`` seconds back onto ``series``, which it then follows:
    ``drop_to + (v - drop_to) * min(1, (t - at_s) / ramp_s)``. ``series`` is the steady state;
    to reset a leak at the restart, build the leak part with ``start_s=at_s`` or ``concat``."""
    if ramp_s <= 0:
        raise ValueError(f"ramp_s must be > 0, got {ramp_s}")
    return _map(
        series,
        lambda i, v: (
            v if i * step_s < at_s else drop_to + (v - drop_to) * _ramp(i * step_s - at_s, ramp_s)
        ),
    )


def collections(series: Sequence[Sample]) -> Series:
    """The collection counter a GC-cycle series implies: 0 at the series' first sample, one up
    at every drop from one sample to the next (a collection is a drop), held over gaps; None
    and STALE where the series has them, and after STALE it starts again at 0 (a new process
    counts from zero)."""
    out: Series = []
    count, prev = 0.0, None
    for v in series:
        if not isinstance(v, float):
            out.append(v)
            if v is STALE:
                count, prev = 0.0, None
            continue
        if prev is not None and v < prev:
            count += 1
        prev = v
        out.append(count)
    return out
