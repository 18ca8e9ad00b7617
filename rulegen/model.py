"""Resolve a validated inventory into a format-neutral plan: per service, its signals, its
limit and the alerts to render. Every check that needs the catalog or relates two fields is
here, so its message can point at the inventory line that causes it."""

from __future__ import annotations

import difflib
from collections.abc import Collection
from dataclasses import dataclass
from typing import Any

from rulegen import catalog as cat
from rulegen import recording, regex
from rulegen.errors import Problem, Severity
from rulegen.families import FAMILIES, Family
from rulegen.inventory import Inventory, Service
from rulegen.promql import Series, label_list, last_sample
from rulegen.recording import FleetLimit, limit_id
from rulegen.units import format_duration, format_size
from rulegen.yamlpos import Located, Path

# `job` is the one label every path into Prometheus puts on a service's series (scrape: the
# job's name; OTLP receiver: service.name); see docs/inventory.md. gc_period: the runtime's
# own default comes first (catalog.yaml, docs/gc-periods.md); this one is for an unknown
# runtime's error path only.
BUILTIN = {"convention": "otel-semconv", "selector_label": "job",
           "scrape_interval": 60, "gc_period": 300}
# The generated tests feed each alert a few windows of samples: this bounds their size (about
# 1 MB of test per family) and the time to write and prove them.
MAX_WINDOW_SAMPLES = 20_160
# The period of a signal no GC cycle shapes: a count (goroutines, threads, handles), or memory
# the runtime reports after each GC (`post_gc` in the catalog, its own trough). Its trough is
# the minimum over this, never over gc_period: a 2h JVM gc_period would make a thread leak wait
# for 8h windows (docs/gc-periods.md, "Periods per signal").
SHORT_PERIOD = 300
# What Prometheus evaluates a rule group at unless it says otherwise (global.evaluation_interval
# of the shipped prometheus.yml, and its default); the tests of a service without an
# evaluation_interval run at it.
DEFAULT_EVALUATION = 60
# The longest evaluation_interval rulegen writes. From the lookback delta (promql.LOOKBACK) on,
# recorded series are read with last_over_time over one interval (promql.last_sample); longer
# than this, the alerts' `for` and the halves of a 2h window hold too few evaluations.
MAX_EVALUATION = 600
# The evaluations in a row a growth alert's default `for` holds at least (Resolver.for_at_interval).
GROWTH_LOOKS = 4
COUNT_SIGNALS = ("goroutines", "threads", "handles")
RESERVED_LABELS = {"alertname", "service", "owner", "severity", "signal", "__name__"}


@dataclass(frozen=True)
class Limit:
    kind: str  # static | metric | runtime
    expr: str  # the denominator, guarded so 0 or a missing limit never divides
    on: tuple[str, ...]  # application labels the ratio matches on (empty: no vector matching)
    raw: str  # the limit without the > 0 guard (telemetry-missing uses it)
    always_present: bool  # the source emits a series even for unlimited containers
    description: str
    series: Series | None = None  # the limit metric as selected (for generated tests)
    join: tuple[tuple[str, str], ...] = ()  # (application label, limit label)
    size: int = 0
    fleet: FleetLimit | None = None  # a metric limit: recorded for the fleet (recording.py)
    own: str = "service"  # the labels a recorded series has and the limit does not (layout.py)
    # a rule class's: its limit series are every service's, so they match on `service` too
    by_service: bool = False

    @property
    def matching(self) -> tuple[str, ...]:
        """The labels a ratio matches the limit on."""
        return (*self.on, "service") if self.by_service else self.on

    def divide(self, numerator: str, recorded: bool = False) -> str:
        """`numerator` over the limit. A recorded numerator carries `service` (and a rule
        class's `rulegen_class`), which the runtime's own limit series does not."""
        if self.on:
            return (f"{numerator}\n  / on ({label_list(self.matching)}) group_left ()\n"
                    f"{self.expr}")
        if recorded and self.kind == "runtime":
            return f"{numerator} / ignoring ({self.own}) group_left () {self.expr}"
        return f"{numerator} / {self.expr}"


@dataclass(frozen=True)
class AlertPlan:
    family: Family
    severity: str
    for_s: int
    window_s: int
    threshold: float
    horizon_s: int
    labels: tuple[tuple[str, str], ...]
    period_s: int  # the trough/peak period of the signal the alert reads (ServicePlan.periods)


@dataclass(frozen=True)
class ServicePlan:
    name: str
    runtime: str
    convention: str
    owner: str
    description: str
    line: int
    scrape_s: int
    gc_s: int
    signals: dict[str, Series]
    periods: dict[str, int]  # signal -> its trough/peak period: gc_s, or the short one
    limit: Limit | None
    labels: tuple[tuple[str, str], ...]  # routing labels shared by every alert of the service
    links: tuple[tuple[str, str], ...]
    alerts: tuple[AlertPlan, ...]
    selector: tuple[tuple[str, str, str], ...]
    # the rule group's `interval`; None: Prometheus's global evaluation_interval (the tests: 1m)
    eval_s: int | None = None

    @property
    def evaluation_s(self) -> int:
        """The interval the rules are evaluated (and proved) at."""
        return self.eval_s or DEFAULT_EVALUATION


# Language names people write for `runtime:`, and the runtime that covers them.
RUNTIME_ALIASES = {
    "golang": "go", "node": "nodejs", "javascript": "nodejs", "typescript": "nodejs",
    "java": "jvm", "kotlin": "jvm", "scala": "jvm", "csharp": "dotnet", "c#": "dotnet",
    "fsharp": "dotnet", "cpython": "python", "ruby": "process", "php": "process",
    "rust": "process", "cpp": "process", "c++": "process", "c": "process", "erlang": "process",
}


def did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else f"; expected one of: {', '.join(choices)}"


class _Resolver:
    def __init__(self, inv: Inventory, loc: Located, indices: list[int] | None) -> None:
        self.inv = inv
        self.indices = indices if indices is not None else list(range(len(inv.services)))
        self.loc = loc
        self.cat = cat.load()
        self.problems: list[Problem] = []
        self._reported: set[tuple[int, int, str]] = set()
        self.errors = 0  # every error raised, also those reported already (once) for another
        self.defaults = inv.defaults

    def error(self, path: Path, msg: str, *, key: bool = False, warn: bool = False) -> None:
        p = self.loc.problem(path, msg, key=key)
        if warn:
            p = Problem(p.path, p.line, p.col, p.message, p.check, Severity.WARNING)
        if p.severity == Severity.ERROR:
            self.errors += 1
        seen = (p.line, p.col, p.message)
        if seen not in self._reported:  # a setting in `defaults:` is read once per service
            self._reported.add(seen)
            self.problems.append(p)

    def setting(self, svc: Service, i: int, name: str) -> tuple[Any, Path]:
        """A service field, else its default, else the built-in; with where it was set."""
        own = getattr(svc, name, None)
        if own is not None:
            return own, ("services", i, name)
        dflt = getattr(self.defaults, name, None) if self.defaults else None
        if dflt is not None:
            return dflt, ("defaults", name)
        if name == "gc_period" and svc.runtime in self.cat.gc_periods:
            return self.cat.gc_periods[svc.runtime], ("services", i, "runtime")
        return BUILTIN.get(name), ("services", i, "name")

    def run(self) -> list[ServicePlan]:
        if not self.inv.services and not self.indices:
            self.error(("services",), "the inventory lists no services")
        plans: list[ServicePlan] = []
        for i, svc in zip(self.indices, self.inv.services, strict=True):
            plan = self.service(svc, i)
            if plan:
                plans.append(plan)
        return plans

    def service(self, svc: Service, i: int) -> ServicePlan | None:
        start = self.errors
        owner, _ = self.setting(svc, i, "owner")
        if not owner:
            self.error(("services", i, "name"), f"service {svc.name!r} has no owner; set owner: "
                       "on the service or in defaults (alerts are routed by it)")
        if svc.runtime not in self.cat.runtimes:
            lower = svc.runtime.lower()
            alias = lower if lower in self.cat.runtimes else RUNTIME_ALIASES.get(lower)
            hint = (f"; {svc.runtime} services use runtime: {alias!r}" if alias
                    else did_you_mean(svc.runtime, list(self.cat.runtimes)))
            self.error(("services", i, "runtime"), f"unknown runtime {svc.runtime!r}{hint}")
            return None
        conv, conv_at = self.setting(svc, i, "convention")
        if conv not in self.cat.conventions:
            self.error(conv_at if conv_at[-1] == "convention" else ("services", i),
                       f"unknown naming convention {conv!r}"
                       + did_you_mean(conv, list(self.cat.conventions)))
            return None
        base = self.cat.signals.get((svc.runtime, conv))
        if base is None:
            have = ", ".join(self.cat.conventions_for(svc.runtime))
            self.error(conv_at, f"runtime {svc.runtime!r} has no metric names for convention "
                       f"{conv!r}; use one of: {have} (or name every metric under metrics:)")
            return None
        scrape, _ = self.setting(svc, i, "scrape_interval")
        gc, gc_at = self.setting(svc, i, "gc_period")
        if scrape <= 0:
            self.error(("services", i, "scrape_interval"), "scrape_interval must be positive")
            scrape = 60
        if gc < scrape:
            self.error(gc_at, f"gc_period {format_duration(gc)} is shorter than the scrape "
                       f"interval {format_duration(scrape)}")
        sel = self.selector(svc, i)
        signals = self.signals(svc, i, base, sel)
        eval_s = self.evaluation(svc, i)
        periods = signal_periods(signals, self.cat.post_gc_metrics(svc.runtime, conv),
                                 scrape, gc, eval_s)
        labels = self.routing_labels(svc, i)
        limit = self.limit(svc, i, signals, eval_s)
        links = {**(self.defaults.links or {} if self.defaults else {}), **(svc.links or {})}
        alerts = self.alerts(svc, i, signals, limit, scrape, gc, periods, labels, owner or "",
                             eval_s)
        if self.errors > start:
            return None
        return ServicePlan(
            name=svc.name, runtime=svc.runtime, convention=conv, owner=owner or "",
            description=svc.description or "", line=self.loc.where(("services", i))[0],
            scrape_s=scrape, gc_s=gc, signals=signals, periods=periods, limit=limit,
            labels=labels,
            links=tuple(sorted(links.items())), alerts=alerts, selector=sel, eval_s=eval_s)

    def evaluation(self, svc: Service, i: int) -> int | None:
        """The service's evaluation_interval, if it sets one (or its defaults do). Each
        evaluation takes a signal's trough over at least the interval (signal_periods), so no
        sample lies between two troughs."""
        e, at = self.setting(svc, i, "evaluation_interval")
        if e is None:
            return None
        if e <= 0:
            self.error(at, "evaluation_interval must be positive")
            return None
        if e > MAX_EVALUATION:
            self.error(at, f"evaluation_interval {format_duration(e)} is longer than "
                       f"{format_duration(MAX_EVALUATION)}: the halves of a 2h growth window "
                       "would hold too few evaluations, and every alert would fire up to an "
                       f"interval later; use at most {format_duration(MAX_EVALUATION)}")
            return None
        return int(e)

    def selector(self, svc: Service, i: int) -> tuple[tuple[str, str, str], ...]:
        if svc.selector:
            matchers = cat.matcher_tuples(svc.selector)
            for label, op, value in matchers:
                if op in ("=~", "!~") and not regex.matchable(op, value):
                    self.error(("services", i, "selector", label), f"{label}{op}{value!r} "
                               "matches no label value rulegen can find, so the alerts could "
                               "never fire and the generated tests have no series to feed them")
            return matchers
        label, _ = self.setting(svc, i, "selector_label")
        return ((label, "=", svc.name),)

    def signals(self, svc: Service, i: int, base: dict[str, cat.SignalDef],
                sel: tuple[tuple[str, str, str], ...]) -> dict[str, Series]:
        out: dict[str, Series] = {}
        overrides = svc.metrics or {}
        for name in cat.SIGNALS:
            d = base.get(name)
            o = overrides.get(name)  # type: ignore[call-overload]
            if d is None and o is None:
                continue
            metric = (o.metric if o and o.metric else None) or (d.metric if d else None)
            if metric is None:
                self.error(("services", i, "metrics", name), f"signal {name!r} has no metric for "
                           f"runtime {svc.runtime!r}; add metric: to name it")
                continue
            matchers = dict((m[0], m) for m in (d.matchers if d and not (o and o.metric) else ()))
            if o and o.matchers is not None:
                matchers = {m[0]: m for m in cat.matcher_tuples(o.matchers)}
            without = (o.sum_without if o and o.sum_without is not None
                       else list(d.sum_without) if d and not (o and o.metric) else [])
            merged = {m[0]: m for m in sel} | matchers
            out[name] = Series(metric, tuple(sorted(merged.values())), tuple(without))
        if "heap" not in out and "resident" in out:
            out["heap"] = out["resident"]
        if "resident" not in out and "heap" in out:
            out["resident"] = out["heap"]
        return out

    def routing_labels(self, svc: Service, i: int) -> tuple[tuple[str, str], ...]:
        labels = dict(self.defaults.labels or {}) if self.defaults else {}
        labels.update(svc.labels or {})
        for name in labels:
            if name in RESERVED_LABELS:
                path = ("services", i, "labels", name) if svc.labels and name in svc.labels \
                    else ("defaults", "labels", name)
                self.error(path, f"label {name!r} is set by rulegen itself; pick another name",
                           key=True)
        return tuple(sorted((k, v) for k, v in labels.items() if k not in RESERVED_LABELS))

    def limit(self, svc: Service, i: int, signals: dict[str, Series],
              eval_s: int | None = None) -> Limit | None:
        spec, at = self.setting(svc, i, "memory_limit")
        if spec is None or spec.source == "none":
            return None
        if spec.source == "static":
            if spec.size is None:
                self.error(at, "memory_limit with source: static needs size: (e.g. 512Mi)")
                return None
            if spec.size == 0:
                self.error((*at, "size"), "a limit of 0 means unlimited; use source: none")
                return None
            return Limit("static", str(spec.size), (), str(spec.size), False,
                         f"a static limit of {format_size(spec.size)}", size=spec.size)
        if spec.source == "runtime":
            lim, used = signals.get("runtime_limit"), signals.get("runtime_used")
            if lim is None or used is None:
                self.error((*at, "source"), f"runtime {svc.runtime!r} exposes no limit of its "
                           "own in this convention; use source: metric or static")
                return None
            return Limit("runtime", f"({lim.value} > 0)", (), lim.value, False,
                         "the runtime's own limit", series=lim)
        if not spec.metric:
            self.error(at, "memory_limit with source: metric needs metric: (a preset such as "
                       f"{', '.join(self.cat.limit_sources)}, or a metric name)")
            return None
        preset = self.cat.limit_sources.get(spec.metric)
        if preset is None and "_" not in spec.metric:
            self.error((*at, "metric"), f"unknown limit preset {spec.metric!r}"
                       + did_you_mean(spec.metric, list(self.cat.limit_sources)))
            return None
        metric = preset.metric if preset else spec.metric
        limit_labels = preset.labels if preset else tuple((spec.join or {}).values())
        # A join written in another order, or assembled by YAML merge keys, means the same:
        # one order (sorted) for its `on (...)` and its id.
        join = dict(sorted(spec.join.items())) if spec.join else {lbl: lbl for lbl in limit_labels}
        if not join:
            self.error(at, "memory_limit from a custom metric needs join: (application label: "
                       "limit label) so the limit can be matched to the service's series")
            return None
        matchers = {m[0]: m for m in (preset.matchers if preset else ())}
        if spec.matchers is not None:
            matchers.update({m[0]: m for m in cat.matcher_tuples(spec.matchers)})
        series = Series(metric, tuple(sorted(matchers.values())))
        pairs = tuple(join.items())
        # The preset's own definition: its matchers and its whole join (a join on some of its
        # labels is another definition, with another recorded limit).
        default = preset is not None and spec.matchers is None and dict(pairs) == {
            lbl: lbl for lbl in preset.labels}
        desc = f"the {spec.metric} limit ({metric})" if preset else f"the limit {metric}"
        fleet = FleetLimit(limit_id(spec.metric, series, pairs, default), series, pairs, desc)
        own = last_sample(fleet.select(svc.name), eval_s, other_group=True)
        return Limit("metric", f"({own} > 0)", fleet.on, own,
                     preset.always_present if preset else False, desc,
                     series=series, join=pairs, fleet=fleet)

    def alerts(self, svc: Service, i: int, signals: dict[str, Series], limit: Limit | None,
               scrape: int, gc: int, periods: dict[str, int],
               routing: tuple[tuple[str, str], ...],
               owner: str, eval_s: int | None = None) -> tuple[AlertPlan, ...]:
        out: list[AlertPlan] = []
        for fam in FAMILIES.values():
            settings, where = self.family_settings(svc, i, fam)
            if settings.get("disabled"):
                continue
            if fam.signal not in signals or (fam.needs_limit and limit is None):
                own = [p for k, p in where.items() if k != "disabled" and p[0] == "services"]
                if own:
                    why = ("the service has no memory limit" if fam.signal in signals
                           else f"runtime {svc.runtime!r} has no {fam.signal} signal")
                    path = own[0][:-1]
                    self.error(path, f"{fam.id} settings have no effect: {why}", warn=True)
                continue
            window, for_s = int(settings["window"]), int(settings["for"])  # type: ignore[call-overload]
            for_s = self.for_at_interval(fam, for_s, eval_s, where.get("for"))
            period = periods.get(recording.read_signal(fam, limit.kind if limit else None), gc)
            if fam.threshold_kind in ("bytes_per_hour", "count_per_hour") and "window" not in where:
                window = max(window, 4 * period)  # each half must span two periods
            if fam.id == "limit-forecast" and "window" not in where:
                window = max(window, 2 * period)  # the peaks of at least two GC cycles
            self.check_family(fam, settings, where, svc, i, scrape, window, for_s)
            labels = (("owner", owner), ("service", svc.name),
                      ("severity", str(settings["severity"])), *routing)
            out.append(AlertPlan(fam, str(settings["severity"]), for_s, window,
                                 float(settings.get("threshold", 0.0)),  # type: ignore[arg-type]
                                 int(settings.get("horizon", 0)),  # type: ignore[call-overload]
                                 tuple(sorted(labels)), period))
        return tuple(out)

    def family_settings(self, svc: Service, i: int,
                        fam: Family) -> tuple[dict[str, object], dict[str, Path]]:
        merged = dict(fam.defaults)
        where: dict[str, Path] = {}
        layers = [(self.defaults.alerts if self.defaults else None, ("defaults", "alerts")),
                  (svc.alerts, ("services", i, "alerts"))]
        for alerts, path in layers:
            block = getattr(alerts, fam.settings_key, None) if alerts else None
            if block is None:
                continue
            for key in block.model_fields_set:
                alias = "for" if key == "for_" else key
                merged[alias] = getattr(block, key)
                where[alias] = (*path, fam.id, alias)
        return merged, where

    def for_at_interval(self, fam: Family, for_s: int, eval_s: int | None,
                        at: Path | None) -> int:
        """`for` as Prometheus waits it at the evaluation interval: it fires at the first
        evaluation at least `for` after the first that found the condition, so a `for` between
        two multiples of the interval waits for the next one. A default is written as that
        multiple; one the inventory sets is kept as written, with a warning (once, where set).
        A growth family's default spans at least GROWTH_LOOKS - 1 intervals: a noisy daily
        curve passes its day-ago test at a few evaluations in a row, and at 8m the default 15m
        (16m, three evaluations) let it fire on day 2 (docs/families.md, "Evaluation
        interval")."""
        if eval_s and at is None and fam.threshold_kind.endswith("per_hour"):
            for_s = max(for_s, (GROWTH_LOOKS - 1) * eval_s)
        if not eval_s or for_s % eval_s == 0:
            return for_s
        waits = -(-for_s // eval_s) * eval_s
        if at is None:
            return waits
        self.error(at, f"{fam.id}: for: {format_duration(for_s)} is not a multiple of "
                   f"evaluation_interval {format_duration(eval_s)}: the alert fires only after "
                   f"{format_duration(waits)} (the first evaluation at least for: after the "
                   f"first that found the condition); write {format_duration(waits)} or a "
                   "shorter multiple", warn=True)
        return for_s

    def check_family(self, fam: Family, s: dict[str, object], where: dict[str, Path],
                     svc: Service, i: int, scrape: int, window: int, for_s: int) -> None:
        def at(key: str) -> Path:
            return where.get(key) or where.get("window") or ("services", i, "name")

        thr = s.get("threshold")
        if fam.threshold_kind == "ratio" and isinstance(thr, float) and not 0 < thr <= 1:
            self.error(at("threshold"), f"{fam.id} threshold {thr:g} must be a fraction of the "
                       "limit between 0 (exclusive) and 1, e.g. 0.8")
        if fam.threshold_kind.endswith("per_hour") and isinstance(thr, float) and thr <= 0:
            self.error(at("threshold"), f"{fam.id} threshold must be positive")
        if for_s > window:
            self.error(at("for"), f"{fam.id}: for: {format_duration(for_s)} is longer than its "
                       f"window {format_duration(window)}; the alert could never see the whole "
                       "condition it waits for")
        halves = 4 if fam.threshold_kind.endswith("per_hour") else 2
        if window > MAX_WINDOW_SAMPLES * scrape:
            self.error(at("window"), f"{fam.id}: window {format_duration(window)} holds "
                       f"{window // scrape:,} samples at the scrape interval "
                       f"{format_duration(scrape)}; rulegen proves at most "
                       f"{MAX_WINDOW_SAMPLES:,} per window (14d at 1m): use a shorter window "
                       "(or gc_period) or a longer scrape_interval")
        elif window < halves * scrape:
            self.error(at("window"), f"{fam.id}: window {format_duration(window)} holds fewer "
                       f"than {halves} samples at the scrape interval {format_duration(scrape)}")
        if fam.id == "limit-forecast" and int(s.get("horizon", 0)) <= 0:  # type: ignore[call-overload]
            self.error(at("horizon"), "limit-forecast horizon must be positive")


def signal_periods(signals: dict[str, Series], post_gc: Collection[str], scrape: int,
                   gc: int, eval_s: int | None = None) -> dict[str, int]:
    """Each signal's trough/peak period: gc_period for memory a GC cycle shapes; SHORT_PERIOD
    (or the scrape interval if longer, never longer than gc_period) for counts and for the
    metrics in `post_gc` (the catalog's post-GC metrics of the runtime and convention, whichever
    signal names them); never shorter than the evaluation interval, so that consecutive troughs
    cover every sample (a longer window still holds a whole GC cycle, so its minimum is still a
    trough). Per series: signals that are one series (recording.py records it once) get one
    period."""
    short = min(gc, max(SHORT_PERIOD, scrape))
    steady = {s.sel for name, s in signals.items() if name in COUNT_SIGNALS or s.metric in post_gc}
    return {name: max(short if s.sel in steady else gc, eval_s or 0)
            for name, s in signals.items()}


def plan(inv: Inventory, loc: Located,
         indices: list[int] | None = None) -> tuple[list[ServicePlan], list[Problem]]:
    """`indices[k]` is the position in the file of `inv.services[k]` (for error locations)."""
    r = _Resolver(inv, loc, indices)
    plans = r.run()
    return plans, sorted(r.problems)


__all__ = ["AlertPlan", "Limit", "ServicePlan", "plan"]
