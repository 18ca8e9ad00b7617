"""The recorded series rulegen's rules share (docs/families.md, "Recording rules").

Per service, in the service's own group and before its alerts (so an alert reads what its
group recorded in the same evaluation):

- `rulegen:<signal>:gc_trough`: the post-GC baseline, the minimum over each GC period (with
  the filter for partial periods, `_macros.j2: troughs`), for every signal a growth alert or
  the forecast reads;
- `rulegen:<signal>:gc_trough_max1h_offset1d`: each trough's highest value in the hour up to
  a day ago, or -Inf where that hour holds no trough (no history yet), for the growth test's
  day-ago comparison. The highest of an hour, not the one trough a day ago: on a noisy series
  that one trough can be low by the noise, which then passes as growth. Recorded on its own
  so that only this rule's query reaches a day back: a query spans, for every selector in it,
  the storage blocks from its earliest selector's time on, so an alert holding a `offset 1d`
  made all its selectors look up their series in a day of blocks;
- `rulegen:<signal>:gc_trough_deriv<w>`: each trough's slope over every window a rising test
  reads (an alert's window and its half), once for all the alerts that read it; the slope over
  a window's first half is the half's recording a half window ago (`offset`), so the rising
  tests read no range of the troughs themselves;
- `rulegen:<signal>:gc_peak`: the GC peaks, the maximum over each GC period (the forecast, and
  the fleet limit join of a metric limit).

Each carries `service: <name>`, so an alert selects its own service's series by one label and
no two services' recordings collide. A signal that is the same series as an earlier one
(heap and resident are one metric for many runtimes) is recorded once, under the earlier
signal's name.

Per limit definition, for the whole fleet (`rules/limits/<id>.yml`): the limit renamed onto the
application's labels once, then joined onto every service's recorded GC peaks, so that
`rulegen:memory_limit_bytes{rulegen_limit="<id>", service="<name>"}` is one service's limit,
selected by its labels: an alert's cost does not grow with the fleet (only this one rule
reads every limit series).
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from rulegen.families import Family
from rulegen.promql import Series, label_list, label_replace_chain, last_sample, selector
from rulegen.units import format_duration

LIMIT_METRIC = "rulegen:memory_limit_bytes"
LIMIT_LABEL = "rulegen_limit"
SIGNAL_ORDER = ("heap", "resident", "runtime_used", "goroutines", "threads", "handles")
GROWTH_SIGNALS = {"memory-growth": "heap", "goroutine-leak": "goroutines",
                  "thread-leak": "threads", "handle-leak": "handles"}


def recorded(name: str, service: str, **labels: str) -> str:
    """The selector of one service's recorded series."""
    return selector(name, sorted([(k, "=", v) for k, v in labels.items()]
                                 + [("service", "=", service)]))


DAY_AGO = "_max1h_offset1d"  # the suffix of a trough's day-ago recording (Recording.day_ago)
DERIV = "_deriv"  # rulegen:heap:gc_trough_deriv2h: the troughs' slope over 2h (Recording.deriv)


class Recorded(str):
    """The selector of a recorded trough (a str), with the selectors of its day-ago recording
    (`day_ago`) and of its recorded slopes by window (`derivs`), which the growth test reads
    (_macros.j2: rising); `every` is the interval its group records them at (None:
    Prometheus's global one)."""

    day_ago: str
    derivs: dict[int, str]
    every: int | None

    def __new__(cls, sel: str, day_ago: str, derivs: dict[int, str],
                every: int | None = None) -> Recorded:
        out = super().__new__(cls, sel)
        out.day_ago = day_ago
        out.derivs = derivs
        out.every = every
        return out

    def back(self, seconds: int) -> str:
        """The trough `seconds` ago, as recorded then (promql.last_sample)."""
        return last_sample(self, self.every, seconds)

    def slope_back(self, window: int, seconds: int) -> str:
        """The recorded slope over `window`, as recorded `seconds` ago."""
        return last_sample(self.derivs[window], self.every, seconds)


@dataclass(frozen=True)
class Recording:
    name: str  # rulegen:heap:gc_trough
    kind: str  # trough | peak
    series: Series
    period_s: int  # the range of its min/max_over_time (the signal's period, model.py)
    windows: tuple[int, ...] = ()  # a trough's: the windows its slope is recorded over

    def deriv(self, window: int) -> str:
        """A trough's recording of its slope (per second) over `window`:
        rulegen:heap:gc_trough_deriv2h."""
        return self.name + DERIV + format_duration(window)

    @property
    def day_ago(self) -> str:
        """A trough's recording of its highest value in the hour up to a day ago, -Inf where
        that hour holds none (no history to compare with): rulegen:heap:gc_trough_max1h_offset1d."""
        return self.name + DAY_AGO


@dataclass
class Recordings:
    """What one service (or rule class) records, and the selectors its alerts read them with:
    `own` are the labels its recorded series carry (`service`, or `rulegen_class`)."""

    own: list[tuple[str, str]]
    every: int | None = None  # the group's evaluation interval (None: Prometheus's global one)
    rules: list[Recording] = field(default_factory=list)
    _names: dict[tuple[str, str], str] = field(default_factory=dict)  # (sel, kind) -> name

    def need(self, signal: str, kind: str, series: Series, period: int,
             windows: tuple[int, ...] = ()) -> None:
        """One series has one period (model.signal_periods), so (sel, kind) names it. A
        trough's slope is recorded over each of `windows` (those of every alert that reads it)."""
        key = (series.sel, kind)
        if key not in self._names:
            name = f"rulegen:{signal}:gc_{kind}"
            self._names[key] = name
            self.rules.append(Recording(name, kind, series, period, windows))

    def ref(self, series: Series, kind: str) -> str:
        return self.named(self._names[(series.sel, kind)])

    def named(self, name: str) -> str:
        """The selector of this service's (or class's) recorded series `name`."""
        return selector(name, sorted((k, "=", v) for k, v in self.own))

    def trough(self, series: Series) -> Recorded:
        rule = next(r for r in self.rules if r.kind == "trough" and r.series.sel == series.sel)
        return Recorded(self.named(rule.name), self.named(rule.day_ago),
                        {w: self.named(rule.deriv(w)) for w in rule.windows}, self.every)

    def peak(self, series: Series) -> str:
        return self.ref(series, "peak")


def used_signal(limit_kind: str) -> str:
    """What the limit families compare with the limit: the runtime's own usage against the
    runtime's own limit, else the resident memory."""
    return "runtime_used" if limit_kind == "runtime" else "resident"


def read_signal(family: Family, limit_kind: str | None) -> str:
    """The signal whose troughs or peaks an alert of `family` reads."""
    if family.needs_limit and limit_kind:
        return used_signal(limit_kind)
    return GROWTH_SIGNALS.get(family.id, family.signal)


def for_service(own: list[tuple[str, str]], signals: dict[str, Series], periods: dict[str, int],
                windows: dict[str, int], limit_kind: str | None,
                every: int | None = None) -> Recordings:
    """What a service (or class) records: `windows` are its alert families' windows, by
    family id. The troughs' slopes over each window a rising test reads (the whole window and
    its half, _macros.j2: rising) are recorded once, for every alert that reads them."""
    wanted: dict[str, set[str]] = {}
    slopes: dict[str, set[int]] = {}
    for fam, sig in GROWTH_SIGNALS.items():
        if fam in windows:
            wanted.setdefault(sig, set()).add("trough")
            slopes.setdefault(sig, set()).update((windows[fam], windows[fam] // 2))
    if limit_kind and "limit-forecast" in windows:
        used = used_signal(limit_kind)
        wanted.setdefault(used, set()).update(("trough", "peak"))
        w = windows["limit-forecast"]
        slopes.setdefault(used, set()).update((w, w // 2))
    if limit_kind == "metric":
        wanted.setdefault("resident", set()).add("peak")  # the fleet limit joins onto it
    # Two signals can be one series (heap and resident for many runtimes): recorded once, its
    # slopes over the windows of both.
    slopes_of: dict[str, set[int]] = {}
    for sig, ws in slopes.items():
        if sig in signals:
            slopes_of.setdefault(signals[sig].sel, set()).update(ws)
    rec = Recordings(own, every)
    # Peaks are only ever wanted of one signal (the one the limit is compared with), so the
    # fleet join finds them as rulegen:resident:gc_peak.
    for kind in ("trough", "peak"):
        for sig in SIGNAL_ORDER:
            if kind in wanted.get(sig, ()) and sig in signals:
                over = slopes_of.get(signals[sig].sel, set()) if kind == "trough" else set()
                rec.need(sig, kind, signals[sig], periods[sig], tuple(sorted(over)))
    return rec


@dataclass(frozen=True)
class FleetLimit:
    """One limit definition (a metric, its matchers, the join), recorded for the fleet."""

    id: str  # the value of rulegen_limit, and the file name rules/limits/<id>.yml
    source: Series  # the limit metric as selected
    join: tuple[tuple[str, str], ...]  # (application label, limit label)
    description: str

    @property
    def on(self) -> tuple[str, ...]:
        return tuple(app for app, _ in self.join)

    @property
    def renamed(self) -> str:
        """The limit per pod, on the application's label names, 0 (no limit) left out."""
        renames = [(app, lim) for app, lim in self.join if app != lim]
        inner = label_replace_chain(self.source.sel, renames)
        return f"max by ({label_list(self.on)}) (\n  {inner}\n) > 0"

    def expr(self, peaks_every: int | None = None) -> str:
        """The limit of each service's series: the renamed limit joined onto the services'
        recorded GC peaks (value 1 each), keeping the service's labels. `peaks_every`: the
        longest interval the services' groups record their peaks at (None: Prometheus's global
        one)."""
        peaks = last_sample("rulegen:resident:gc_peak", peaks_every, other_group=True)
        return (f"(\n  {self.renamed.replace(chr(10), chr(10) + '  ')}\n)\n"
                f"  * on ({label_list(self.on)}) group_right ()\n"
                f"group by ({label_list((*self.on, 'service'))}) ({peaks})")

    def select(self, service: str) -> str:
        """One service's limit series."""
        return recorded(LIMIT_METRIC, service, **{LIMIT_LABEL: self.id})


LIMITS_DIR = "rules/limits"  # the fleet limits' rule files, beside rules/<runtime>/


def limit_rules_path(limit: str) -> str:
    """The fleet limit's rule file in the output."""
    return f"{LIMITS_DIR}/{limit}.yml"


def limit_group(limit: str) -> str:
    """The name of the fleet limit's rule group."""
    return f"rulegen.limit.{limit}"


def limit_id(name: str, source: Series, join: tuple[tuple[str, str], ...],
             default: bool) -> str:
    """`name` (the preset, or the metric) when the definition is the preset's own; else with a
    short digest of the definition, so two definitions never share a recorded series."""
    name = re.sub(r"[^a-z0-9]+", "-", name.lower()).strip("-") or "limit"
    if default:
        return name
    digest = hashlib.sha256(repr((source.sel, join)).encode()).hexdigest()[:8]
    return f"{name}-{digest}"


__all__ = ["DAY_AGO", "FleetLimit", "Recorded", "Recording", "Recordings", "for_service",
           "limit_id", "limit_rules_path", "recorded"]
