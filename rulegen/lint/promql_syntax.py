"""promql/syntax: the expr does not parse, or is not an instant vector or scalar."""

from __future__ import annotations

from collections.abc import Iterator

from rulegen.errors import Problem, Severity
from rulegen.lint.context import RuleContext

ID = "promql/syntax"
DESCRIPTION = "expr is not valid PromQL, or returns a range vector or string"
SEVERITY = Severity.ERROR
NEEDS_INVENTORY = False


def check(rule: RuleContext) -> Iterator[Problem]:
    if rule.parse_error is not None:
        yield rule.problem(("expr",), f"invalid PromQL: {rule.parse_error}", ID, SEVERITY)
