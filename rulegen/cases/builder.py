"""A case made a test group of one service: `CaseBuilder` gives a family's shapes the
service's labels (those its selector and limit join need, and the identity of the case), the
other series of the service (steady, so the other alerts stay quiet), and the expectations
(alert labels and annotations taken from the rendered rule file)."""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence

from rulegen import regex
from rulegen.cases import TestgenError
from rulegen.cases.groups import AlertTest, ExpAlert, ExprTest, Group
from rulegen.cases.settings import MIB, Settings
from rulegen.cases.shape import Shape
from rulegen.families import FAMILIES, Family
from rulegen.gotemplate import VALUE_ACTION, UnsupportedTemplate, expand, stable
from rulegen.model import AlertPlan, ServicePlan
from rulegen.promql import Matcher, Series
from rulegen.rulefile import Rule, RuleFile
from rulegen.synth import InputSeries, Sample, constant, encode, selector
from rulegen.text import promql_string
from rulegen.units import format_duration as dur

MEMORY_GROWTH = FAMILIES["memory-growth"]


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


class CaseBuilder:
    """The test groups of one alert of one service, from its family's shapes."""

    def __init__(self, plan: ServicePlan, alert: AlertPlan, rules: RuleFile) -> None:
        self.plan, self.alert, self.rules = plan, alert, rules
        self.fam: Family = alert.family
        # the alert's timing; each family adds the settings its cases read
        self.settings = Settings(plan.scrape_s, alert.period_s, alert.window_s, alert.for_s,
                                 E=plan.evaluation_s)
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

    def counter_input(self, values: Sequence[Sample] | None) -> list[InputSeries]:
        """The runtime's major-collection counter (signal major_gcs), one series: its summed
        label is the one its matcher selects (v8js_gc_type="major")."""
        s = self.plan.signals.get("major_gcs")
        if s is None or values is None:
            return []
        return [InputSeries(selector(s.metric, self.labels_for(s)), _encode(tuple(values)))]

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
    def with_service(self, labels: dict[str, str]) -> dict[str, str]:
        """An alert's result labels: `service` is a static label of a service's alerts, and
        comes with the series in a rule class's (rulegen/layout.py)."""
        return {"service": self.plan.name, **labels}

    def exp_alert(self, alertname: str, labels: dict[str, str], value: float,
                  signal: str | None = None) -> ExpAlert:
        rule = self.rule(alertname, signal)
        for text in rule.annotations.values():
            if "$value" in text and not stable(text, value):
                raise UnsupportedTemplate(
                    f"{alertname}: annotation {text!r} of value {value!r} is on a rounding "
                    "edge; it could print differently on Prometheus 2.x and 3.x")
        labels = self.with_service(labels)
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
        labels = self.with_service(labels)
        full = {**labels, **self.alert_labels(rule, None, labels), "alertname": alertname,
                "alertstate": "firing"}
        return ExprTest(f'ALERTS{{alertname="{alertname}", alertstate="firing"{only}}}', t,
                        ((selector("ALERTS", full), 1.0),))

    def silent(self, alertname: str, duration: int, only: str = "", span: int = 0) -> ExprTest:
        """No evaluation fired up to `duration` (within its last `span` seconds, if given)."""
        rng = span or duration + self.settings.step
        return ExprTest(f'max_over_time(ALERTS{{alertname="{alertname}", alertstate="firing"'
                        f'{only}}}[{dur(rng)}])', duration)

    def group(self, case: str, comment: str, series: list[InputSeries], *,
              alert_tests: Sequence[AlertTest] = (), expr_tests: Sequence[ExprTest] = (),
              marker: str = "") -> Group:
        name = f"{self.fam.id}/{case}"
        # promtool prints no group name for a failed promql_expr_test, only its expression:
        # a PromQL comment names the group there.
        exprs = tuple(ExprTest(f"{t.expr}  # {name}", t.eval_time, t.samples)
                      for t in expr_tests)
        return Group(name, " ".join(comment.split()), self.settings.S, tuple(series),
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
                  + self.background(n, [sig]) + self.counter_input(sh.gcs))
        alert_tests: list[AlertTest] = []
        exprs: list[ExprTest] = []
        if sh.exact is not None:
            alert_tests, exprs, why = self.exactly(name, labels, sh.exact, sh.at)
            note += why
        elif sh.fires:
            exprs.append(self.firing(name, labels, sh.at, only=only))
        else:
            exprs.append(self.silent(name, sh.at, only, sh.quiet_for))
        heap = self.plan.signals.get("heap")
        if sh.quiet_growth and heap is not None and heap.sel == sig.sel and self.rules.has(
                MEMORY_GROWTH.alertname):
            exprs.append(self.silent(MEMORY_GROWTH.alertname, sh.at, only))
            note += "; memory-growth stays silent"
        return self.group(sh.case, sh.comment + (note if sh.exact is not None else ""), series,
                          alert_tests=alert_tests, expr_tests=exprs, marker=marker)

    # the limit families
    @property
    def limit_source(self) -> str:
        return self.plan.limit.kind if self.plan.limit else ""

    def join_note(self) -> str:
        """For a comment: the label names the limit join maps, when they differ."""
        lim = self.plan.limit
        if lim is None or lim.kind != "metric" or all(x == y for x, y in lim.join):
            return ""
        return (f"; the app series carries {', '.join(x for x, _ in lim.join)}, the limit "
                f"series {', '.join(y for _, y in lim.join)}: firing proves the join")
