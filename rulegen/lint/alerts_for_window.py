"""alerts/for-window: an alert waits (`for`) longer than the window its expr looks at."""

from __future__ import annotations

from collections.abc import Iterator

from rulegen.errors import Problem, Severity
from rulegen.lint.context import RuleContext
from rulegen.lint.query import duration, ranges

ID = "alerts/for-window"
DESCRIPTION = "for: longer than the largest range or subquery window in the expr"
SEVERITY = Severity.WARNING
NEEDS_INVENTORY = False


def check(rule: RuleContext) -> Iterator[Problem]:
    if not rule.is_alert or rule.expr is None or not rule.for_s:
        return
    window = max(ranges(rule.nodes), default=0.0)
    # An instant expression has no window to compare with.
    if window and rule.for_s > window:
        yield rule.problem(
            ("for",), f"for: {duration(rule.for_s)} is longer than the expr's largest window "
            f"[{duration(window)}]: the condition is judged on data the alert never looks at "
            "together; lengthen the window or shorten for:", ID, SEVERITY)
