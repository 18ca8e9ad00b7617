"""Small helpers over promql_parser's AST, shared by the checks."""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from datetime import timedelta

import promql_parser as pp

from rulegen.units import format_duration

RATE_FUNCS = frozenset({"rate", "irate", "increase"})  # counters only
SLOPE_FUNCS = frozenset({"deriv", "predict_linear"})  # gauges only
RANGE_FUNCS = RATE_FUNCS | SLOPE_FUNCS | {"delta", "idelta"}  # need >= 2 samples
TROUGH_FUNCS = frozenset({"min_over_time", "max_over_time"})
COMPARISONS = frozenset({"==", "!=", ">", "<", ">=", "<="})
SET_OPS = frozenset({"and", "or", "unless"})

_DURATION = re.compile(r"(\d+)(ms|y|w|d|h|m|s)")
_UNIT = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800, "y": 31536000}


def children(e: pp.Expr) -> list[pp.Expr]:
    if isinstance(e, pp.BinaryExpr):
        return [e.lhs, e.rhs]
    if isinstance(e, pp.ParenExpr | pp.UnaryExpr | pp.SubqueryExpr):
        return [e.expr]
    if isinstance(e, pp.AggregateExpr):
        return [x for x in (e.param, e.expr) if isinstance(x, pp.Expr)]
    if isinstance(e, pp.Call):
        return [a for a in e.args if isinstance(a, pp.Expr)]
    if isinstance(e, pp.MatrixSelector):
        return [e.vector_selector]
    return []


def nodes(e: pp.Expr) -> Iterator[pp.Expr]:
    """Every node, depth first, parents before children."""
    stack = [e]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(reversed(children(node)))


def op(e: pp.BinaryExpr | pp.AggregateExpr) -> str:
    return str(e.op)


def unparen(e: pp.Expr) -> pp.Expr:
    while isinstance(e, pp.ParenExpr):
        e = e.expr
    return e


def seconds(td: timedelta | None) -> float:
    return td.total_seconds() if td else 0.0


def parse_duration(text: str) -> float | None:
    """Prometheus duration -> seconds; None if invalid. (promql_parser.parse_duration reads
    "500ms" as 500 microseconds, so it is not used.)"""
    parts = _DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text.strip():
        return None
    return sum(int(n) * _UNIT[u] for n, u in parts)


def duration(secs: float) -> str:
    return format_duration(int(secs)) if secs >= 1 else f"{int(secs * 1000)}ms"


def range_of(arg: pp.Expr) -> tuple[float, float | None] | None:
    """(range, subquery step or None) of a range-vector argument."""
    arg = unparen(arg)
    if isinstance(arg, pp.MatrixSelector):
        return seconds(arg.range), None
    if isinstance(arg, pp.SubqueryExpr):
        return seconds(arg.range), (seconds(arg.step) or None)
    return None


def ranges(all_nodes: Iterable[pp.Expr]) -> Iterator[float]:
    for n in all_nodes:
        if isinstance(n, pp.MatrixSelector | pp.SubqueryExpr):
            yield seconds(n.range)


def metric_name(vs: pp.VectorSelector) -> str | None:
    if vs.name:
        return vs.name
    return next((m.value for m in vs.matchers.matchers
                 if m.name == "__name__" and m.op == pp.MatchOp.Equal), None)


def has_vectors(e: pp.Expr) -> bool:
    """Whether `e` reads any series (otherwise it is a constant scalar expression)."""
    return any(isinstance(n, pp.VectorSelector) or (isinstance(n, pp.Call) and n.func.name in (
        "vector", "time", "scalar")) for n in nodes(e))


def number(e: pp.Expr) -> float | None:
    e = unparen(e)
    if isinstance(e, pp.NumberLiteral):
        return e.val
    if isinstance(e, pp.UnaryExpr) and isinstance(inner := unparen(e.expr), pp.NumberLiteral):
        return -inner.val
    return None


def text(e: pp.Expr, limit: int = 70) -> str:
    """One-line PromQL for messages, shortened in the middle."""
    flat = " ".join(e.prettify().split())
    return flat if len(flat) <= limit else f"{flat[:limit // 2 - 2]} … {flat[-(limit // 2 - 2):]}"
