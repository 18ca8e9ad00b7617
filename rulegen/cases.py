"""The case catalogue: for each alert of a service, the synthetic series its rule must fire on
(at a time computed from the plan) and must stay silent on (at every evaluation).

Conventions (docs/families.md has the cases of each family and why they hold):
* Samples are integers (2.x and 3.x read them identically), one per scrape interval S from
  t=0. Times are computed from the window W, `for` F and gc period G, with a margin, so no
  assertion depends on a range boundary (3.x ranges are left-open).
* The primary leaking case of an alert uses a shape whose `$value` is exact on 2.x and 3.x
  (a clean integer ramp for slopes, a constant level for ratios) and asserts its labels and
  annotations with `alert_rule_test`. Other leaking cases assert `ALERTS{...firing}` (labels,
  value 1) at the computed time.
* A healthy case asserts `max_over_time(ALERTS{...firing}[whole series])` is empty at its end:
  no evaluation fired. Events start after W + G of steady history, so every window position
  around them is evaluated with a filled window, and the series runs W + G + F past them.
* Every other signal of the service (and its limit) is present and steady, so the other
  alerts (telemetry-missing above all) stay quiet, and cheap to evaluate.

The numbers of each case (the series under test, when to assert) are in `rulegen.shapes`;
this module makes them test groups of one service: labels, the other signals, expectations.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from rulegen import regex
from rulegen.families import Family
from rulegen.gotemplate import VALUE_ACTION, UnsupportedTemplate, expand, stable
from rulegen.model import AlertPlan, ServicePlan
from rulegen.promql import Matcher, Series
from rulegen.rulefile import Rule, RuleFile
from rulegen.shapes import (
    MIB,
    MIN,
    Grid,
    Shape,
    forecast_shapes,
    growth_shapes,
    ratio_shapes,
)
from rulegen.synth import (
    InputSeries,
    Sample,
    constant,
    encode,
    selector,
    stale_after,
    with_gaps,
)
from rulegen.testgen import TestgenError
from rulegen.text import promql_string
from rulegen.units import format_duration as dur

GROWTH_FAMILIES = ("memory-growth", "goroutine-leak", "thread-leak", "handle-leak")


# --- what the test template renders --------------------------------------------------------


@dataclass(frozen=True)
class ExpAlert:
    labels: tuple[tuple[str, str], ...]
    annotations: tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class AlertTest:
    eval_time: int
    alertname: str
    alerts: tuple[ExpAlert, ...] = ()


@dataclass(frozen=True)
class ExprTest:
    expr: str
    eval_time: int
    samples: tuple[tuple[str, float], ...] = ()


@dataclass(frozen=True)
class Group:
    name: str  # <family>/<case>
    comment: str
    interval: int
    series: tuple[InputSeries, ...]
    alert_tests: tuple[AlertTest, ...] = ()
    expr_tests: tuple[ExprTest, ...] = ()
    marker: str = ""  # the label value only this case's series carry ("": not batchable)
    cases: tuple[Group, ...] = ()  # a batch: the cases it runs side by side


# --- labels that satisfy a selector ---------------------------------------------------------


def _matches(op: str, pattern: str, value: str) -> bool:
    if op == "=":
        return value == pattern
    if op == "!=":
        return value != pattern
    hit = regex.fullmatch(pattern, value)
    return hit if op == "=~" else not hit


def satisfy(matchers: Sequence[Matcher], fixed: dict[str, str] | None = None) -> dict[str, str]:
    """Label values that match every matcher: `fixed`, the equality matchers, then for other
    matchers a value found by `regex.example` or a stock name; a label whose matchers only the
    empty value meets is left out (Prometheus treats a missing label as the empty value)."""
    labels = dict(fixed or {})
    labels.update({n: v for n, op, v in matchers if op == "=" and n not in labels})
    for n, op, v in matchers:
        if n in labels:
            continue
        cands = [regex.example(v) or "" if op == "=~" else "", "main", "app", "x"]
        found = next((c for c in cands if c and _matches(op, v, c)), None)
        if found is not None:
            labels[n] = found
        elif not _matches(op, v, ""):
            raise TestgenError(f"cannot make up a value for label {n} that matches {n}{op}{v!r}")
    for n, op, v in matchers:
        if not _matches(op, v, labels.get(n, "")):
            raise TestgenError(f"label {n}={labels.get(n)!r} cannot match {n}{op}{v!r}")
    return labels


@functools.lru_cache(maxsize=8192)
def _encode(values: tuple[Sample, ...]) -> str:
    return encode(values)


def _part(values: tuple[Sample, ...]) -> float:
    """The constant part `c` of a summed signal: 1MiB when the values allow, else 1."""
    nums = [v for v in values if isinstance(v, float)]
    return 1.0 if not nums or min(nums) < 2 * MIB else float(MIB)


@functools.lru_cache(maxsize=1024)
def _split(values: tuple[Sample, ...], parts: bool) -> tuple[str, ...]:
    if not parts:
        return (_encode(values),)
    c = _part(values)
    return (_encode(tuple(v - c if isinstance(v, float) else v for v in values)),
            _encode(tuple(c if isinstance(v, float) else v for v in values)))


@functools.lru_cache(maxsize=1024)
def _const(level: float, n: int, parts: bool) -> tuple[str, ...]:
    return _split(tuple(constant(level, step_s=1, n=n)), parts)


# --- one alert of one service --------------------------------------------------------------


class Ctx:
    def __init__(self, plan: ServicePlan, alert: AlertPlan, rules: RuleFile) -> None:
        self.plan, self.alert, self.rules = plan, alert, rules
        self.fam: Family = alert.family
        self.S = plan.scrape_s
        self.grid = Grid(self.S)
        lim = plan.limit
        self.lim = lim.size if lim and lim.kind == "static" else 256 * MIB
        self.used = plan.signals.get("runtime_used" if lim and lim.kind == "runtime"
                                     else "resident")
        self.pod = "a"  # the identity of the case being built (pods, instances)

    def rule(self, alertname: str, signal: str | None = None) -> Rule:
        """The one alerting rule `alertname` (for `signal`) of the service's rule file."""
        found = self.rules.find(alertname, signal)
        if len(found) != 1:
            raise TestgenError(f"expected one {alertname} rule"
                               + (f" for signal {signal}" if signal else "")
                               + f" in the rendered rules, found {len(found)}")
        return found[0]

    @staticmethod
    def alert_labels(rule: Rule, value: float | None, labels: Mapping[str, str]
                     ) -> dict[str, str]:
        """The alert's own labels as Prometheus sends them: each value template-expanded
        (`value` None: the assertion knows no value, so a label that uses one cannot be
        asserted)."""
        out = {k: expand(v, value or 0.0, labels) for k, v in rule.labels.items()}
        if value is None and out != {k: expand(v, 1.0, labels) for k, v in rule.labels.items()}:
            raise UnsupportedTemplate(f"{rule.name}: a label uses $value")
        return out

    def fmts(self, alertname: str, signal: str | None = None) -> tuple[str, ...]:
        """The `{{ $value ... }}` actions of the rule's annotations."""
        rule = self.rule(alertname, signal)
        return tuple(sorted({m for text in rule.annotations.values()
                             for m in VALUE_ACTION.findall(text)}))

    # labels and series
    def labels_for(self, s: Series, pod: str | None = None) -> dict[str, str]:
        name, pod = self.plan.name, pod or self.pod
        fixed: dict[str, str] = {}
        for app, _ in self.plan.limit.join if self.plan.limit else ():
            fixed[app] = ("otel-demo" if "namespace" in app
                          else f"{name}-{pod}" if "pod" in app else name)
        for n, op, v in s.matchers:  # the selector wins over made-up identity labels
            if op == "=":
                fixed[n] = v
        if "instance" not in {m[0] for m in s.matchers} | set(s.sum_without):
            fixed["instance"] = f"{name}-{pod}"
        return satisfy(s.matchers, fixed)

    def result_labels(self, s: Series, pod: str | None = None) -> dict[str, str]:
        """Labels of `s` after its aggregation (what an alert on it carries)."""
        return {k: v for k, v in self.labels_for(s, pod).items() if k not in s.sum_without}

    def input(self, s: Series, values: Sequence[Sample] | tuple[float, int],
              labels: dict[str, str] | None = None) -> list[InputSeries]:
        """The input series of a signal (`values`, or `(level, n)` for a constant). A signal
        summed over labels (pools, generations) is given as two parts, so the sum is
        exercised: `values - c` and a constant `c`."""
        labels = labels if labels is not None else self.labels_for(s)
        if isinstance(values, tuple) and len(values) == 2 and isinstance(values[1], int):
            level, n = values
            texts = _const(level, n, bool(s.sum_without))
        else:
            texts = _split(tuple(values), bool(s.sum_without))
        if not s.sum_without:
            return [InputSeries(selector(s.metric, labels), texts[0])]
        return [InputSeries(selector(s.metric, {**labels, **{k: "a" for k in s.sum_without}}),
                            texts[0]),
                InputSeries(selector(s.metric, {**labels, **{k: "b" for k in s.sum_without}}),
                            texts[1])]

    def limit_input(self, values: Sequence[Sample] | tuple[float, int], other: bool = False
                    ) -> list[InputSeries]:
        """The limit series of a metric or runtime limit; `other`: another pod's/container's."""
        lim = self.plan.limit
        if lim is None or lim.series is None:
            return []
        if lim.kind == "runtime":
            return self.input(lim.series, values)
        app = self.labels_for(self.used or lim.series)
        fixed = {lab: app[a] for a, lab in lim.join}
        if other:
            pick = next((lab for a, lab in lim.join if "pod" in a), lim.join[0][1])
            fixed[pick] += "-other"
        return [InputSeries(selector(lim.series.metric, satisfy(lim.series.matchers, fixed)),
                            self.input(Series(lim.series.metric, ()), values, {})[0].values)]

    def limit_for(self, mode: str, n: int) -> list[InputSeries]:
        if mode == "absent":
            return []
        zero = -1.0 if self.plan.limit and self.plan.limit.kind == "runtime" else 0.0
        level = zero if mode == "zero" else float(self.lim)
        return self.limit_input((level, n), other=mode == "other")

    @staticmethod
    def memory_signal(name: str) -> bool:
        return name in ("heap", "resident", "runtime_used", "runtime_limit")

    def background(self, n: int, exclude: Sequence[Series] = ()) -> list[InputSeries]:
        """Steady series for every signal the service's alerts use, but `exclude` (and the
        limit, which `limit_for` gives)."""
        p = self.plan
        names = [a.family.signal for a in p.alerts if a.family.id != "telemetry-missing"]
        names += ["heap", "resident"]
        if p.limit and p.limit.kind == "runtime":
            names.append("runtime_used")
        skip = {s.sel for s in exclude}
        if p.limit and p.limit.series is not None:
            skip.add(p.limit.series.sel)
        out: list[InputSeries] = []
        seen: set[str] = set()
        for name in dict.fromkeys(names):
            s = p.signals.get(name)
            if s is None or s.sel in skip:
                continue
            level = (round(0.3 * self.lim) if p.limit else 128 * MIB) \
                if self.memory_signal(name) else 40
            for i in self.input(s, (float(level), n)):
                if i.series not in seen:
                    seen.add(i.series)
                    out.append(i)
        return out

    # expectations
    def exp_alert(self, alertname: str, labels: dict[str, str], value: float,
                  signal: str | None = None) -> ExpAlert:
        rule = self.rule(alertname, signal)
        for text in rule.annotations.values():
            if "$value" in text and not stable(text, value):
                raise UnsupportedTemplate(
                    f"{alertname}: annotation {text!r} of value {value!r} is on a rounding "
                    "edge; it could print differently on Prometheus 2.x and 3.x")
        return ExpAlert(tuple(sorted({**labels, **self.alert_labels(rule, value, labels)}.items())),
                        tuple(sorted((k, expand(v, value, labels))
                                     for k, v in rule.annotations.items())))

    def exactly(self, alertname: str, labels: dict[str, str], value: float, t: int,
                signal: str | None = None) -> tuple[list[AlertTest], list[ExprTest], str]:
        """The primary assertion: the alert with its labels and annotations at `t`; or, when
        an annotation's text cannot be worked out (a custom template), its labels only."""
        try:
            exp = self.exp_alert(alertname, labels, value, signal)
        except UnsupportedTemplate as exc:
            return [], [self.firing(alertname, labels, t, signal)], \
                f" (labels only: {exc})"
        return [AlertTest(t, alertname, (exp,))], [], ""

    def firing(self, alertname: str, labels: dict[str, str], t: int,
               signal: str | None = None, only: str = "") -> ExprTest:
        """`only`: a matcher that keeps the alerts of this case's series (in a batch)."""
        rule = self.rule(alertname, signal)
        full = {**labels, **self.alert_labels(rule, None, labels), "alertname": alertname,
                "alertstate": "firing"}
        return ExprTest(f'ALERTS{{alertname="{alertname}", alertstate="firing"{only}}}', t,
                        ((selector("ALERTS", full), 1.0),))

    def silent(self, alertname: str, duration: int, only: str = "") -> ExprTest:
        return ExprTest(f'max_over_time(ALERTS{{alertname="{alertname}", alertstate="firing"'
                        f'{only}}}[{dur(duration + self.grid.step)}])', duration)

    def group(self, case: str, comment: str, series: list[InputSeries], *,
              alert_tests: Sequence[AlertTest] = (), expr_tests: Sequence[ExprTest] = (),
              marker: str = "") -> Group:
        name = f"{self.fam.id}/{case}"
        # promtool prints no group name for a failed promql_expr_test, only its expression:
        # a PromQL comment names the group there.
        exprs = tuple(ExprTest(f"{t.expr}  # {name}", t.eval_time, t.samples)
                      for t in expr_tests)
        return Group(name, " ".join(comment.split()), self.S, tuple(series),
                     tuple(alert_tests), exprs, marker)

    def batch_label(self, sh: Shape, sig: Series, pod: str) -> str | None:
        """The label that tells this case's alerts from other cases' when the case runs as
        `pod` in a batch (its value `<service>-<pod>`), or None if it cannot be batched."""
        lim = self.plan.limit
        if sh.exact is not None or (lim is not None and lim.kind == "metric" and not any(
                "pod" in a for a in lim.on)):
            return None  # an alert_rule_test lists every alert; a limit shared by all pods
        res = self.result_labels(sig, pod)
        marker = f"{self.plan.name}-{pod}"
        return next((k for k in ("instance", *sorted(res)) if res.get(k) == marker), None)

    def realize(self, sh: Shape, sig: Series, note: str = "") -> Group:
        """The test group of a shape on signal `sig` (with the service's other series)."""
        pod = f"{self.fam.id}-{sh.case}"
        key = self.batch_label(sh, sig, pod)
        if key is None:
            return self._realize(sh, sig, note, "")
        self.pod = pod
        try:
            return self._realize(sh, sig, note, key)
        finally:
            self.pod = "a"

    def _realize(self, sh: Shape, sig: Series, note: str, key: str) -> Group:
        """`key`: the label that selects this case's alerts in a batch ("": not batched)."""
        marker = f"{self.plan.name}-{self.pod}" if key else ""
        only = f", {key}={promql_string(marker)}" if key else ""
        name, n = self.fam.alertname, len(sh.values)
        labels = self.result_labels(sig)
        series = (self.input(sig, sh.values) + self.limit_for(sh.limit, n)
                  + self.background(n, [sig]))
        alert_tests: list[AlertTest] = []
        exprs: list[ExprTest] = []
        if sh.exact is not None:
            alert_tests, exprs, why = self.exactly(name, labels, sh.exact, sh.at)
            note += why
        elif sh.fires:
            exprs.append(self.firing(name, labels, sh.at, only=only))
        else:
            exprs.append(self.silent(name, sh.at, only))
        heap = self.plan.signals.get("heap")
        if sh.quiet_growth and heap is not None and heap.sel == sig.sel and self.rules.has(
                "MemoryLeakSuspected"):
            exprs.append(self.silent("MemoryLeakSuspected", sh.at, only))
            note += "; memory-growth stays silent"
        return self.group(sh.case, sh.comment + (note if sh.exact is not None else ""), series,
                          alert_tests=alert_tests, expr_tests=exprs, marker=marker)


# --- the families ----------------------------------------------------------------------------


def growth(c: Ctx) -> list[Group]:
    a, p = c.alert, c.plan
    shapes = growth_shapes(c.S, p.gc_s, a.window_s, a.for_s, a.threshold,
                           c.fam.threshold_kind == "bytes_per_hour",
                           c.fam.id == "memory-growth", c.fmts(c.fam.alertname))
    sig = p.signals[c.fam.signal]
    return [c.realize(sh, sig) for sh in shapes]


def _limit_args(c: Ctx) -> tuple[bool, float, bool]:
    lim = c.plan.limit
    assert lim is not None
    return lim.kind != "static", -1.0 if lim.kind == "runtime" else 0.0, lim.kind == "metric"


def _join_note(c: Ctx) -> str:
    lim = c.plan.limit
    if lim is None or lim.kind != "metric" or all(x == y for x, y in lim.join):
        return ""
    return (f"; the app series carries {', '.join(x for x, _ in lim.join)}, the limit series "
            f"{', '.join(y for _, y in lim.join)}: firing proves the join")


def limit_ratio(c: Ctx) -> list[Group]:
    a, p = c.alert, c.plan
    assert c.used is not None
    shapes = ratio_shapes(c.S, p.gc_s, a.window_s, a.for_s, a.threshold, c.lim, *_limit_args(c),
                          c.fmts(c.fam.alertname))
    return [c.realize(sh, c.used, _join_note(c)) for sh in shapes]


def limit_forecast(c: Ctx) -> list[Group]:
    a, p = c.alert, c.plan
    assert c.used is not None
    growth = next((x for x in p.alerts if x.family.id == "memory-growth"), None)
    shapes = forecast_shapes(c.S, p.gc_s, a.window_s, a.for_s, a.horizon_s, c.lim,
                             growth.threshold if growth else None, *_limit_args(c),
                             c.fmts(c.fam.alertname))
    return [c.realize(sh, c.used, _join_note(c)) for sh in shapes]


def telemetry(c: Ctx) -> list[Group]:
    p, S, W, F = c.plan, c.S, c.alert.window_s, c.alert.for_s
    g, name = c.grid, c.fam.alertname
    out: list[Group] = []
    e = g.up(30 * MIN)
    t = g.up(e + W + F + 5 * MIN)
    n = g.n(t)
    lim = p.limit
    for sig_name in c.rules.signals(name):
        if sig_name == "memory_limit":
            continue
        s = p.signals[sig_name]
        level = (round(0.3 * c.lim) if sig_name != "runtime_limit" else c.lim) \
            if c.memory_signal(sig_name) else 40
        vals = stale_after(constant(level, step_s=S, n=n), e, step_s=S)
        is_limit = lim is not None and lim.series is not None and lim.series.sel == s.sel
        tests, exprs, why = c.exactly(name, dict(s.equality_labels), 1.0, t, sig_name)
        out.append(c.group(
            f"vanish-{sig_name}", f"{s.sel} stops at {dur(e)} (a staleness marker), every "
            f"other series stays: fires after W+F{why}",
            c.input(s, vals) + ([] if is_limit else c.limit_for("set", n))
            + c.background(n, [s]), alert_tests=tests, expr_tests=exprs))
    d = g.up(2 * W + F + 10 * MIN)
    n = g.n(d)
    gap = [(g.up(10 * MIN), g.up(10 * MIN) + W // 2)]
    every = c.limit_for("set", n) + c.background(n)
    gapped = [InputSeries(i.series, _with_gap(i.values, gap, S)) for i in every]
    out.append(c.group("present", f"every watched series (and the limit) present, with a "
                       f"{dur(W // 2)} scrape gap, shorter than the window", gapped,
                       expr_tests=[c.silent(name, d)]))
    if lim and lim.kind == "metric" and lim.always_present and c.used is not None:
        t = g.up(F + 5 * MIN)
        n = g.n(t)
        tests, exprs, why = c.exactly(name, c.result_labels(p.signals["resident"]), 1.0, t,
                                      "memory_limit")
        for case, mode, what in (
                ("limit-unmatched", "other", "only has a series of another pod/container"),
                ("limit-zero", "zero", "has the service's series, at 0 (no limit set)")):
            out.append(c.group(
                case, f"the limit source {what}: the limit alerts could never fire{why}",
                c.limit_for(mode, n) + c.background(n), alert_tests=tests, expr_tests=exprs))
    return out


def _with_gap(values: str, gaps: list[tuple[int, int]], step: int) -> str:
    from rulegen.synth import decode

    return encode(with_gaps(decode(values), gaps, step_s=step))


BUILDERS: dict[str, Callable[[Ctx], list[Group]]] = {
    **{f: growth for f in GROWTH_FAMILIES}, "limit-ratio": limit_ratio,
    "limit-forecast": limit_forecast, "telemetry-missing": telemetry,
}


def groups_for(plan: ServicePlan, alert: AlertPlan, rules: RuleFile) -> list[Group]:
    return BUILDERS[alert.family.id](Ctx(plan, alert, rules))


def _marked(series: str, marker: str) -> bool:
    """True if a label of `series` is `marker` (or `marker-other`: another pod of the case)."""
    return any(v in (marker, marker + "-other") for v in re.findall(r'="((?:[^"\\]|\\.)*)"',
                                                                   series))


def batched(groups: Sequence[Group]) -> list[Group]:
    """The groups, with the cases of each family that are asserted by expressions alone run
    side by side in one group `<family>/batch` (in the place of the first of them).

    promtool evaluates every rule of the file at every step of every group, and most of a
    step's cost does not grow with the number of series: a group of ten cases costs a
    fraction of ten groups. Each case's series carry its own `<service>-<family>-<case>`
    identity (instance, pod), its assertions select its own alerts, and a failing expression
    names its case in a comment. A case whose series are not all unique and marked stays a
    group of its own, as does every case asserted with alert_rule_test (which lists every alert
    of the group)."""
    ok: dict[str, list[Group]] = {}
    seen: set[str] = set()
    for g in groups:
        mine = {s.series for s in g.series}
        if (g.marker and not g.alert_tests and len(mine) == len(g.series) and not mine & seen
                and all(_marked(s, g.marker) for s in mine)):
            seen |= mine
            ok.setdefault(g.name.split("/")[0], []).append(g)
    batches = {id(cs[0]): (fam, cs) for fam, cs in ok.items() if len(cs) > 1}
    taken = {id(c) for _, cs in batches.values() for c in cs}
    out: list[Group] = []
    for g in groups:
        if id(g) in batches:
            fam, cs = batches[id(g)]
            out.append(Group(f"{fam}/batch", f"{len(cs)} cases side by side; each case's "
                             "series carry its own identity and its assertions select its own "
                             "alerts", g.interval, tuple(s for c in cs for s in c.series),
                             expr_tests=tuple(t for c in cs for t in c.expr_tests),
                             cases=tuple(cs)))
        elif id(g) not in taken:
            out.append(g)
    return out
