"""Synthetic series for promtool unit tests, written in promtool's expanding notation.

A series is a ``list`` of samples taken every ``step_s`` seconds from t=0: a float (signal
units: bytes for memory, a count for threads/goroutines), ``None`` (missing, ``_``) or
``STALE`` (``stale``). Shapes are pure, deterministic builders; combinators make new lists.

    >>> from rulegen.synth import add, sawtooth, linear_leak, encode
    >>> mem = add(sawtooth(100, 45, 600, step_s=60, n=20), linear_leak(10, step_s=60, n=20))
    >>> encode(mem)
    '100+605x9 6100+605x9'

``encode`` rounds to integers, so a ramp compresses to one token only when its per-sample
increment is whole: snap leak rates with ``whole_rate`` and sawtooth amplitudes with
``whole_amplitude`` (otherwise rounding makes a staircase of many short runs).
"""

from rulegen.synth.notation import InputSeries, decode, encode, selector
from rulegen.synth.series import (
    STALE,
    Sample,
    Series,
    add,
    clip_min,
    collections,
    concat,
    constant,
    daily_curve,
    linear_leak,
    n_samples,
    noise,
    restart,
    sawtooth,
    scale,
    stale_after,
    step_change,
    stepwise_leak,
    warmup,
    whole_amplitude,
    whole_rate,
    with_gaps,
)

__all__ = [
    "STALE",
    "InputSeries",
    "Sample",
    "Series",
    "add",
    "clip_min",
    "collections",
    "concat",
    "constant",
    "daily_curve",
    "decode",
    "encode",
    "linear_leak",
    "n_samples",
    "noise",
    "restart",
    "sawtooth",
    "scale",
    "selector",
    "stale_after",
    "step_change",
    "stepwise_leak",
    "warmup",
    "whole_amplitude",
    "whole_rate",
    "with_gaps",
]
