"""alerts/runbook: each case is one rule (line 4); the problem points at annotations:."""

from __future__ import annotations

import pytest

from rulegen.errors import Severity
from rulegen.lint import lint_text
from rulegen.lint.alerts_runbook import ID


def found(rule: str) -> list[tuple[int, int, Severity]]:
    text = f"groups:\n- name: g\n  rules:\n  - {rule}\n"
    return [(p.line, p.col, p.severity) for p in lint_text(text) if p.check == ID]


@pytest.mark.parametrize(("rule", "expected"), [
    ("{alert: A, expr: up, annotations: {runbook_url: 'https://r'}}", []),
    ("{alert: A, expr: up, annotations: {summary: s}}", [(4, 26, Severity.WARNING)]),
    ("{alert: A, expr: up, annotations: {runbook_url: ' '}}", [(4, 26, Severity.WARNING)]),
    ("{alert: A, expr: up}", [(4, 6, Severity.WARNING)]),
    ("{record: r, expr: up}", []),
])
def test_cases(rule: str, expected: list[tuple[int, int, Severity]]) -> None:
    assert found(rule) == expected
