"""promql/metric-type: rate() on a gauge, or deriv() on a counter, judged by metric names."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Literal

import promql_parser as pp

from rulegen import catalog
from rulegen.errors import Problem, Severity
from rulegen.lint.context import RuleContext
from rulegen.lint.query import (
    RANGE_FUNCS,
    RATE_FUNCS,
    SLOPE_FUNCS,
    metric_name,
    nodes,
    unparen,
)

ID = "promql/metric-type"
DESCRIPTION = ("rate/irate/increase on a gauge (memory, goroutines, threads), or "
               "deriv/predict_linear on a counter (_total)")
SEVERITY = Severity.ERROR
NEEDS_INVENTORY = False

Kind = Literal["counter", "gauge"] | None
# _count/_sum/_bucket are histogram counters in Prometheus naming but gauges in OpenTelemetry's
# (go_goroutine_count), so a name alone does not tell.
_AMBIGUOUS = ("_count", "_sum", "_bucket")
_AGG_KEEPS_KIND = frozenset({"sum", "min", "max", "avg", "topk", "bottomk"})
_FUNC_KEEPS_KIND = frozenset({"label_replace", "label_join", "last_over_time", "min_over_time",
                              "max_over_time", "avg_over_time"})


def name_kind(name: str, gauges: frozenset[str], counters: frozenset[str] = frozenset()) -> Kind:
    """`counters`: the counter signals' metrics (the catalog's, and the inventory's), whose
    names need not end in _total (dotnet_gc_collections without suffixes)."""
    if name in counters:
        return "counter"
    if name in gauges:
        return "gauge"
    if name.endswith("_total"):
        return "counter"
    return None if name.endswith(_AMBIGUOUS) else "gauge"


def kind(e: pp.Expr, gauges: frozenset[str], counters: frozenset[str] = frozenset()) -> Kind:
    """Counter or gauge, following the value through aggregations and label functions."""
    e = unparen(e)
    if isinstance(e, pp.MatrixSelector):
        e = e.vector_selector
    if isinstance(e, pp.VectorSelector):
        name = metric_name(e)
        return name_kind(name, gauges, counters) if name else None
    if isinstance(e, pp.AggregateExpr) and str(e.op) in _AGG_KEEPS_KIND:
        return kind(e.expr, gauges, counters)
    if isinstance(e, pp.SubqueryExpr):
        return kind(e.expr, gauges, counters)
    if isinstance(e, pp.Call):
        if e.func.name in RANGE_FUNCS:  # a per-second rate or slope is itself a gauge
            return "gauge"
        if e.func.name in _FUNC_KEEPS_KIND and e.args:
            return kind(e.args[0], gauges, counters)
    return None


def check(rule: RuleContext) -> Iterator[Problem]:
    if rule.expr is None:
        return
    gauges = rule.inventory.gauges if rule.inventory else frozenset()
    counters = catalog.load().counter_metrics | (
        rule.inventory.counters if rule.inventory else frozenset())
    for call in rule.calls(RATE_FUNCS | SLOPE_FUNCS):
        fn, arg = call.func.name, call.args[0]
        k = kind(arg, gauges, counters)
        if fn in RATE_FUNCS and k == "gauge":
            yield rule.problem(
                ("expr",), f"{fn}() on a gauge ({_source(arg)}): it reads every drop, such as a "
                "GC, as a counter reset; use deriv() for the slope of a gauge", ID, SEVERITY)
        elif fn in SLOPE_FUNCS and k == "counter":
            yield rule.problem(
                ("expr",), f"{fn}() on a counter ({_source(arg)}): a counter reset shows as a "
                "huge negative slope; use rate() or increase()", ID, SEVERITY)


def _source(e: pp.Expr) -> str:
    names = [metric_name(n) for n in nodes(e) if isinstance(n, pp.VectorSelector)]
    return ", ".join(n for n in names if n) or "a derived series"
