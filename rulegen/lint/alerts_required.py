"""alerts/required: labels and annotations every alert needs to be routed and understood."""

from __future__ import annotations

from collections.abc import Iterator

from rulegen.errors import Problem, Severity
from rulegen.lint.context import RuleContext

ID = "alerts/required"
DESCRIPTION = ("an alert without labels severity, owner and service, or annotations summary "
               "and description")
SEVERITY = Severity.ERROR
NEEDS_INVENTORY = False
LABELS = ("severity", "owner", "service")
ANNOTATIONS = ("summary", "description")
# An alert of a rulegen rule class (docs/classes.md) takes `service` from its series: the
# class's recording rules and raw selectors copy it from the selector's label.
CLASS_LABEL = "rulegen_class"


def check(rule: RuleContext) -> Iterator[Problem]:
    if not rule.is_alert:
        return
    labels = LABELS if CLASS_LABEL not in rule.labels else tuple(
        n for n in LABELS if n != "service")
    for field, names, have in (("labels", labels, rule.labels),
                               ("annotations", ANNOTATIONS, rule.annotations)):
        missing = [n for n in names if not have.get(n, "").strip()]
        if missing:
            sub = (field,) if field in rule.rule else ("alert",)
            yield rule.problem(sub, f"alert {rule.name} has no {field[:-1]} "
                               f"{', '.join(missing)}", ID, SEVERITY, key=True)
