"""promql/division-guard: a ratio whose denominator can be 0 (an unset limit is often 0)."""

from __future__ import annotations

from collections.abc import Iterator

import promql_parser as pp

from rulegen.errors import Problem, Severity
from rulegen.lint.context import RuleContext
from rulegen.lint.query import COMPARISONS, has_vectors, number, op, text, unparen

ID = "promql/division-guard"
DESCRIPTION = "a division whose denominator is a series with no > 0 guard"
SEVERITY = Severity.ERROR
NEEDS_INVENTORY = False
_KEEPS_POSITIVE = frozenset({"sum", "min", "max", "avg", "topk", "bottomk"})
_NEVER_ZERO = frozenset({"count", "group", "count_values"})  # no series -> no result, not 0


def _filters_positive(e: pp.BinaryExpr) -> bool:
    """`x > 0`, `x >= 1`, `x != 0`, or the same with the number on the left."""
    if op(e) not in COMPARISONS or (e.modifier and e.modifier.return_bool):
        return False
    flip = {">": "<", "<": ">", ">=": "<=", "<=": ">="}
    rhs, o = number(e.rhs), op(e)
    if rhs is None and (lhs := number(e.lhs)) is not None:
        rhs, o = lhs, flip.get(o, o)
    if rhs is None:
        return False
    return (o == ">" and rhs >= 0) or (o == ">=" and rhs > 0) or (o == "!=" and rhs == 0)


def guarded(e: pp.Expr) -> bool:
    """Whether `e` can never be 0: filtered by a positive comparison, or built from such."""
    e = unparen(e)
    if isinstance(e, pp.BinaryExpr):
        if _filters_positive(e):
            return True
        if op(e) == "and":
            return guarded(e.lhs) or guarded(e.rhs)
        if op(e) in ("*", "/"):
            sides = (e.lhs, e.rhs)
            return all(guarded(s) or (number(s) or 0) > 0 for s in sides)
        return False
    if isinstance(e, pp.AggregateExpr):
        return str(e.op) in _NEVER_ZERO or (str(e.op) in _KEEPS_POSITIVE and guarded(e.expr))
    if isinstance(e, pp.Call):
        name, args = e.func.name, e.args
        if name in ("label_replace", "label_join"):
            return guarded(args[0])
        if name in ("clamp_min", "clamp") and len(args) > 1:
            return (number(args[1]) or 0) > 0
        return name in ("count_over_time", "time")
    value = number(e)
    return value is not None and value != 0


def check(rule: RuleContext) -> Iterator[Problem]:
    if rule.expr is None:
        return
    for n in rule.nodes:
        if not isinstance(n, pp.BinaryExpr) or op(n) != "/":
            continue
        den = n.rhs
        if number(den) == 0:
            yield rule.problem(("expr",), "division by the constant 0", ID, SEVERITY)
        elif has_vectors(den) and not guarded(den):
            yield rule.problem(
                ("expr",), f"the denominator {text(den)} has no > 0 guard: where it is 0 (e.g. "
                "an unset limit) the ratio is +Inf and a > threshold fires; write (… > 0)",
                ID, SEVERITY)
