"""promql/gc-window: a memory slope over a window the GC sawtooth dominates."""

from __future__ import annotations

from collections.abc import Iterator

import promql_parser as pp

from rulegen.errors import Problem, Severity
from rulegen.lint.context import RuleContext, ServiceFacts
from rulegen.lint.query import SLOPE_FUNCS, TROUGH_FUNCS, duration, metric_name, unparen

ID = "promql/gc-window"
DESCRIPTION = ("deriv/predict_linear over raw memory with a range under 6 GC periods, or a "
               "min/max_over_time trough window shorter than one GC period")
SEVERITY = Severity.WARNING
NEEDS_INVENTORY = True
PERIODS = 6  # below ~6 periods a healthy sawtooth's slope crosses leak thresholds (reference C.2)


def is_memory(name: str | None, facts: ServiceFacts) -> bool:
    if name is None:
        return False
    if facts.memory_metrics:
        return name in facts.memory_metrics
    return name.endswith("_bytes") or "memory" in name or "heap" in name


def _inner(e: pp.Expr) -> pp.Expr:
    """Past parentheses, aggregations and label functions, to what the subquery samples."""
    while True:
        e = unparen(e)
        if isinstance(e, pp.AggregateExpr):
            e = e.expr
        elif isinstance(e, pp.Call) and e.func.name in ("label_replace", "label_join"):
            e = e.args[0]
        else:
            return e


def check(rule: RuleContext) -> Iterator[Problem]:
    if rule.expr is None or rule.service is None:
        return
    facts, gc = rule.service, rule.service.gc_s
    for call in rule.calls(SLOPE_FUNCS):
        arg, fn = unparen(call.args[0]), call.func.name
        raw: pp.Expr
        if isinstance(arg, pp.MatrixSelector):
            raw, rng = arg.vector_selector, arg.range.total_seconds()
        elif isinstance(arg, pp.SubqueryExpr):
            raw, rng = _inner(arg.expr), (arg.range.total_seconds() if arg.range else 0.0)
        else:
            continue
        if isinstance(raw, pp.VectorSelector) and is_memory(name := metric_name(raw), facts):
            if rng < PERIODS * gc:
                yield rule.problem(
                    ("expr",), f"{fn}() over raw {name} spans [{duration(rng)}], fewer than "
                    f"{PERIODS} GC periods of {duration(gc)}: the GC sawtooth dominates the slope; "
                    f"use at least [{duration(PERIODS * gc)}] or regress on troughs, e.g. "
                    f"{fn}(min_over_time({name}[{duration(gc)}])[2h:1m])", ID, SEVERITY)
        elif isinstance(raw, pp.Call) and raw.func.name in TROUGH_FUNCS:
            window = unparen(raw.args[0])
            if not isinstance(window, pp.MatrixSelector):
                continue
            name = metric_name(window.vector_selector)
            if is_memory(name, facts) and window.range.total_seconds() < gc:
                yield rule.problem(
                    ("expr",), f"{raw.func.name}({name}[{duration(window.range.total_seconds())}])"
                    f" is shorter than the GC period {duration(gc)}, so its troughs still follow "
                    f"the sawtooth; use [{duration(gc)}] or more", ID, SEVERITY)
