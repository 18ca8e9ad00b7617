"""promql/vector-matching: a binary operation whose two sides can never share a label set.

Static approximation: an aggregation `by (...)` fixes the labels a side carries, `without (...)`
and `on()` of one-to-one operations remove some; a plain selector may carry any label.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import promql_parser as pp

from rulegen.errors import Problem, Severity
from rulegen.lint.context import RuleContext
from rulegen.lint.query import SET_OPS, op

ID = "promql/vector-matching"
DESCRIPTION = ("vector matching that can never match: on(...) labels a side aggregated away, "
               "or sides aggregated by different labels")
SEVERITY = Severity.ERROR
NEEDS_INVENTORY = False
_KEEP_LABELS = frozenset({"topk", "bottomk", "limitk", "limit_ratio"})
Card = pp.VectorMatchCardinality


@dataclass(frozen=True)
class Labels:
    exact: frozenset[str] | None = None  # the only labels this side can carry, when known
    dropped: frozenset[str] = frozenset()  # labels it certainly does not carry

    def can_have(self, label: str) -> bool:
        return label in self.exact if self.exact is not None else label not in self.dropped

    def show(self) -> str:
        if self.exact is not None:
            return f"keeps only ({', '.join(sorted(self.exact))})"
        return f"has no ({', '.join(sorted(self.dropped))})"

    def plus(self, extra: set[str] | frozenset[str]) -> Labels:
        if self.exact is not None:
            return Labels(self.exact | extra)
        return Labels(None, self.dropped - extra)


def labels(e: pp.Expr, found: list[str] | None = None) -> Labels | None:
    """What labels `e` can carry; None for a scalar. One pass over the tree: with `found`,
    the mismatch of every binary operation inside `e` is appended to it on the way (each
    node's labels are worked out once, so the cost is linear in the size of the expression)."""
    if isinstance(e, pp.NumberLiteral | pp.StringLiteral):
        return None
    if isinstance(e, pp.ParenExpr | pp.UnaryExpr | pp.SubqueryExpr):
        return labels(e.expr, found)
    if isinstance(e, pp.AggregateExpr):
        return _aggregate(e, found)
    if isinstance(e, pp.Call):
        return _call(e, found)
    if isinstance(e, pp.BinaryExpr):
        return _binary(e, found)
    return Labels()


def _aggregate(e: pp.AggregateExpr, found: list[str] | None) -> Labels:
    if isinstance(e.param, pp.Expr):
        labels(e.param, found)  # e.g. topk(scalar(a / b), x): its binaries are checked too
    inner = labels(e.expr, found) or Labels()
    name = str(e.op)
    if name in _KEEP_LABELS:
        return inner
    mod = e.modifier
    grouped = frozenset(mod.labels) if mod else frozenset()
    if name == "count_values" and isinstance(e.param, pp.StringLiteral):
        grouped = grouped | {e.param.val}
    if mod is None or mod.type == pp.AggModifierType.By:
        return Labels(grouped)
    if inner.exact is not None:
        return Labels(inner.exact - grouped)
    return Labels(None, inner.dropped | grouped)


def _call(e: pp.Call, found: list[str] | None) -> Labels | None:
    args = [labels(a, found) for a in e.args if isinstance(a, pp.Expr)]
    if e.func.return_type == pp.ValueType.Scalar:
        return None
    if e.func.name == "vector":
        return Labels(frozenset())
    first = next((a for a in args if a is not None), Labels())
    if e.func.name in ("label_replace", "label_join") and isinstance(e.args[1], pp.StringLiteral):
        return first.plus({e.args[1].val})
    if e.func.name == "histogram_quantile":  # consumes the buckets' le
        return Labels(first.exact - {"le"}) if first.exact is not None else Labels(
            None, first.dropped | {"le"})
    return first


def _binary(e: pp.BinaryExpr, found: list[str] | None) -> Labels | None:
    lhs, rhs = labels(e.lhs, found), labels(e.rhs, found)
    if found is not None:
        found.extend(_mismatches(e, lhs, rhs))
    if lhs is None or rhs is None:
        return rhs if lhs is None else lhs
    if op(e) in SET_OPS:
        return lhs if op(e) != "or" or lhs == rhs else Labels()
    mod = e.modifier
    card = mod.card if mod else Card.OneToOne
    include = frozenset(mod.group_labels or ()) if mod else frozenset()
    if card == Card.ManyToOne:
        return lhs.plus(include)
    if card == Card.OneToMany:
        return rhs.plus(include)
    matching = mod.matching if mod else None
    if matching and matching.type == pp.LabelModifierType.Include:
        return Labels(frozenset(matching.labels))
    if matching:
        return Labels(lhs.exact - set(matching.labels)) if lhs.exact is not None else Labels(
            None, lhs.dropped | set(matching.labels))
    return lhs


def mismatches(e: pp.BinaryExpr) -> Iterator[str]:
    """Why the two sides of `e` (itself only, not the operations inside it) never match."""
    return _mismatches(e, labels(e.lhs), labels(e.rhs))


def _mismatches(e: pp.BinaryExpr, lhs: Labels | None, rhs: Labels | None) -> Iterator[str]:
    if lhs is None or rhs is None or op(e) == "or":
        return
    mod = e.modifier
    matching = mod.matching if mod else None
    sides = (("left", lhs), ("right", rhs))
    if matching and matching.type == pp.LabelModifierType.Include:
        for side, lab in sides:
            missing = [name for name in matching.labels if not lab.can_have(name)]
            if missing:
                yield (f"on ({', '.join(matching.labels)}) needs {', '.join(missing)}, but the "
                       f"{side} side {lab.show()}: the sides never match")
    else:
        ignored = frozenset(matching.labels) if matching else frozenset()
        for (side, a), (_, b) in zip(sides, sides[::-1], strict=True):
            if a.exact is None:
                continue
            own = a.exact - ignored
            if (b.exact is not None and b.exact - ignored != own) or (own & b.dropped):
                yield (f"the {side} side {a.show()} and the other {b.show()}: their label "
                       "sets never match; add on (...) or aggregate both by the same labels")
                break
    if mod and mod.card in (Card.ManyToOne, Card.OneToMany):
        side, one = ("right", rhs) if mod.card == Card.ManyToOne else ("left", lhs)
        missing = [name for name in mod.group_labels or () if not one.can_have(name)]
        if missing:
            yield (f"group_{'left' if side == 'right' else 'right'} ({', '.join(missing)}) "
                   f"copies labels the {side} side does not have (it {one.show()})")


def check(rule: RuleContext) -> Iterator[Problem]:
    if rule.expr is None:
        return
    found: list[str] = []
    labels(rule.expr, found)
    for message in found:
        yield rule.problem(("expr",), message, ID, SEVERITY)
