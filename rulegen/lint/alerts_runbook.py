"""alerts/runbook: an alert without a runbook_url annotation."""

from __future__ import annotations

from collections.abc import Iterator

from rulegen.errors import Problem, Severity
from rulegen.lint.context import RuleContext

ID = "alerts/runbook"
DESCRIPTION = "an alert without a runbook_url annotation"
SEVERITY = Severity.WARNING
NEEDS_INVENTORY = False


def check(rule: RuleContext) -> Iterator[Problem]:
    if rule.is_alert and not rule.annotations.get("runbook_url", "").strip():
        sub = ("annotations",) if "annotations" in rule.rule else ("alert",)
        yield rule.problem(sub, f"alert {rule.name} has no runbook_url annotation: whoever is "
                           "paged has nowhere to start", ID, SEVERITY, key=True)
