"""promql/unknown-service: a selector asks for a service the inventory does not declare."""

from __future__ import annotations

import re
from collections.abc import Iterator

import promql_parser as pp

from rulegen.errors import Problem, Severity
from rulegen.lint.context import Declared, RuleContext

ID = "promql/unknown-service"
DESCRIPTION = ("a selector on a service label (e.g. service_name) whose value no service in "
               "the inventory declares")
SEVERITY = Severity.ERROR
NEEDS_INVENTORY = True


def _full(pattern: str, value: str) -> bool:
    try:
        return re.fullmatch(pattern, value) is not None
    except re.error:  # RE2 syntax Python lacks: give it the benefit of the doubt
        return True


def satisfiable(matcher: pp.Matcher, declared: Declared) -> bool:
    if matcher.op == pp.MatchOp.Equal:
        return matcher.value in declared.equal or any(
            _full(r, matcher.value) for r in declared.regexes)
    if matcher.op == pp.MatchOp.Re:
        return bool(declared.regexes) or any(_full(matcher.value, v) for v in declared.equal)
    return True  # a negative matcher selects something unless every service is excluded


def check(rule: RuleContext) -> Iterator[Problem]:
    if rule.expr is None or rule.inventory is None:
        return
    index = rule.inventory.selector_values
    for n in rule.nodes:
        if not isinstance(n, pp.VectorSelector):
            continue
        for m in n.matchers.matchers:
            declared = index.get(m.name)
            if declared and not satisfiable(m, declared):
                known = sorted(declared.equal | set(declared.regexes))
                shown = ", ".join(known[:5]) + (", …" if len(known) > 5 else "")
                yield rule.problem(
                    ("expr",), f"{m} selects no service of the inventory ({m.name} is one of: "
                    f"{shown}); the alert can never fire", ID, SEVERITY)
