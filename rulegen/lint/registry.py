"""Every lint check, by ID. Adding a check: one module, one entry here, a test, a docs section."""

from __future__ import annotations

from rulegen.lint import (
    alerts_for_window,
    alerts_required,
    alerts_runbook,
    alerts_template_value,
    promql_division_guard,
    promql_gc_window,
    promql_metric_type,
    promql_short_range,
    promql_syntax,
    promql_unknown_service,
    promql_vector_matching,
    rule_duplicate,
    yaml_parse,
)
from rulegen.lint.base import FilesCheck, RuleCheck

RULE_CHECKS: dict[str, RuleCheck] = {
    promql_syntax.ID: promql_syntax,
    promql_short_range.ID: promql_short_range,
    promql_metric_type.ID: promql_metric_type,
    promql_gc_window.ID: promql_gc_window,
    promql_division_guard.ID: promql_division_guard,
    promql_vector_matching.ID: promql_vector_matching,
    promql_unknown_service.ID: promql_unknown_service,
    alerts_for_window.ID: alerts_for_window,
    alerts_template_value.ID: alerts_template_value,
    alerts_required.ID: alerts_required,
    alerts_runbook.ID: alerts_runbook,
}
FILES_CHECKS: dict[str, FilesCheck] = {
    yaml_parse.ID: yaml_parse,
    rule_duplicate.ID: rule_duplicate,
}
CHECKS: dict[str, RuleCheck | FilesCheck] = {**FILES_CHECKS, **RULE_CHECKS}
